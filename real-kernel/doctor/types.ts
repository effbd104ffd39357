// What the doctor's probe child is asked and what it answers (one JSON line on stdout).

export interface ProbeRequest {
  /** A directory (or file) whose files a daemon means to register as backing files. */
  dir?: string;
}

export interface RegistrationProbe {
  /** max_stack_depth the probe mount negotiated. */
  msd: number;
  /** BACKING_OPEN of a file from DIR: null on success (then `id`), else the errno. Null when no DIR. */
  errno: string | null;
  id?: number;
  /** Mounting overlayfs with this FUSE mount as its lower layer: null when it worked, else the errno. */
  overlayOnTop: string | null;
}

export interface ProbeResult {
  /** A failure before any probe mount (the probe could not run). */
  error?: string;
  /** mount(2) of the FUSE probe mount failed with this errno. */
  mountErrno?: string;
  /** What the kernel's INIT request offered. */
  offered?: { major: number; minor: number; initExt: boolean; passthrough: boolean };
  /** The file from DIR that was registered. */
  file?: { path?: string; created?: boolean; error?: string };
  /** One per max_stack_depth tried (1, then 2). */
  registrations: RegistrationProbe[];
}

/** The probe child's scratch mountpoint (a tmpfs in its namespace), removed by the parent. */
export function probeScratchDir(childPid: number): string {
  return `/var/tmp/fusepass-doctor-${childPid}`;
}
