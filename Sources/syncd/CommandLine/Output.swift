import Foundation

/// Writes to standard error without buffering, so messages interleave correctly with progress.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints a usage error in swift-argument-parser's layout and returns the exit code for it.
func reportUsageError(_ error: UsageError, spec: CommandSpec) -> Int32 {
    printError("Error: \(error.message)")
    if error.isDataError {
        return ExitCode.dataError
    }
    printError("Usage: \(spec.usage)")
    printError("  See '\(spec.name) --help' for more information.")
    return ExitCode.usage
}
