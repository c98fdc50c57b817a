let syncdVersion = "0.1.0"

/// A subcommand of `syncd`: its spec, and a run function that returns the exit code.
///
/// `main` handles `--help` and usage errors the same way for every subcommand.
protocol SubcommandRunner {
    static var commandName: String { get }
    static var abstract: String { get }
    static var spec: CommandSpec { get }
    /// Runs with parsed arguments; usage errors thrown here print with the usage line.
    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32
    /// Parses and runs; a command group replaces it to hand the words to a member.
    static func main(_ arguments: [String]) -> Int32
}

extension SubcommandRunner {
    static func main(_ arguments: [String]) -> Int32 {
        do {
            let parsed = try ParsedArguments(arguments, spec: spec)
            if parsed.helpRequested {
                print(spec.helpText)
                return ExitCode.success
            }
            return try run(parsed)
        } catch {
            return reportUsageError(error, spec: spec)
        }
    }
}
