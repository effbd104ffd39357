// The memory a daemon worker shares with the case thread: the request log and a few state words,
// read with Atomics so the case thread can wait for quiescence without messages.
export const SLOT = {
  logCount: 0,
  busy: 1,
  /** 0 no INIT yet, 1 INIT held (deferInit), 2 INIT reply written (the kernel processed it). */
  initState: 2,
  ack: 3,
  initMajor: 4,
  initMinor: 5,
  initFlags: 6,
  initFlags2: 7,
  /** 1 once read(2) on the served fd returned ENODEV (connection gone). */
  gone: 8,
  /** errno of the last INIT reply write (0 = accepted). */
  initWriteErrno: 9,
  /** 1 while an alarm is armed: the worker signals the case thread when it expires. */
  alarm: 10,
  /**
   * 1 while the case thread closes the last file of a detached mount: the superblock dies in
   * that close and aborts the connection, racing with the daemon reading the asynchronous
   * RELEASE. The worker then answers only FLUSH and drops anything else unseen, so the outcome is
   * always the one where the abort came first.
   */
  hold: 11,
} as const;

/** The signal an alarm sends (a realtime signal nobody else uses; handler without SA_RESTART). */
export const INTERRUPT_SIGNAL = 50;

export const LOG_BASE = 64;
export const LOG_CAP = 1 << 16;
export const SAB_WORDS = LOG_BASE + LOG_CAP;

export type ToWorker =
  | {
      t: 'serve';
      devFd: number;
      nodes: Record<string, import('../../fixtures/world.ts').FuseNodeSpec>;
      createReply: import('../../fixtures/world.ts').OpenReplySpec;
      init: import('../../spec/case.ts').InitReplySpec | null;
      backingIds: Record<string, number>;
      settings?: import('../../fixtures/world.ts').DaemonSettings;
      /** World file name -> path, for nodes whose size is a world file's (FuseNodeSpec.sizeFrom). */
      filePaths?: Record<string, string>;
    }
  | { t: 'setOpen'; node: string; reply: import('../../fixtures/world.ts').OpenReplySpec }
  | { t: 'setSize'; node: string; size: number }
  | { t: 'ids'; backingIds: Record<string, number> }
  | { t: 'replyInit'; init: import('../../spec/case.ts').InitReplySpec }
  | { t: 'fd'; devFd: number }
  | { t: 'alarm'; ms: number; pid: number; tid: number }
  | { t: 'stop' };
