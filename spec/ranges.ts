// The number ranges of the case format (spec/case.ts): every number a case gives is bounded
// here, with a clear loader message, or passed to the kernel as the syscall gets it and modelled
// by the sim (issue 11).

/**
 * A byte count or an offset into a file whose bytes the sim holds in memory: 0 to 16 MiB.
 * @minimum 0
 * @maximum 16777216
 * @TJS-type integer
 */
export type IoBytes = number;
/**
 * A file position lseek may be asked for, relative to SET, CUR or END: within ±1 TiB.
 * @minimum -1099511627776
 * @maximum 1099511627776
 * @TJS-type integer
 */
export type SeekOffset = number;
/**
 * A size a daemon reports (attributes only, never held in memory): 0 to 2^53 − 1.
 * @minimum 0
 * @maximum 9007199254740991
 * @TJS-type integer
 */
export type ReportedSize = number;
/**
 * A 32-bit unsigned word as the kernel reads it (ioctl command, flags, INIT fields).
 * @minimum 0
 * @maximum 4294967295
 * @TJS-type integer
 */
export type U32 = number;
/**
 * A signed 32-bit number as the kernel reads it (a raw fd or backing id).
 * @minimum -2147483648
 * @maximum 2147483647
 * @TJS-type integer
 */
export type S32 = number;
/**
 * Data a step writes, as text: at most 16 MiB.
 * @maxLength 16777216
 */
export type IoText = string;
