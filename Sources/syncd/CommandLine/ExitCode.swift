/// The process exit codes of `syncd`, documented in the README. Each outcome has its own code.
enum ExitCode {
    static let success: Int32 = 0
    /// The task could not run at all (source missing, destination not creatable, store unusable).
    static let taskFailed: Int32 = 1
    /// Some entries failed; the rest of the tree was replicated.
    static let someEntriesFailed: Int32 = 23
    /// Source files vanished during the run; everything else succeeded.
    static let sourceVanished: Int32 = 24
    /// Files changed while they were copied and were not verified; everything else succeeded.
    static let changedDuringCopy: Int32 = 25
    /// A verified destination did not match the source.
    static let verificationMismatch: Int32 = 26
    /// The command line was wrong (sysexits EX_USAGE).
    static let usage: Int32 = 64
    /// Input data was wrong: malformed JSON, an invalid id (sysexits EX_DATAERR).
    static let dataError: Int32 = 65
    /// Stopped by SIGINT or SIGTERM (128 + signal number).
    static let interrupted: Int32 = 130
    static let terminated: Int32 = 143
}
