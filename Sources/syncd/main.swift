import Foundation

/// The subcommands of `syncd`, in the order help lists them.
let subcommands: [any SubcommandRunner.Type] = [
    CopyCommand.self,
    VerifyCommand.self,
    RestoreCommand.self, ProfileCommand.self,
]

let rootSpec = CommandSpec(
    name: "syncd",
    overview: "Replicate file trees exactly and restore SageMaker Studio homes between EFS volumes.",
    options: [.flag("version", help: "Show the version.")],
    subcommands: subcommands.map { ($0.commandName, $0.abstract) }
)

/// Dispatches to a subcommand, or prints the root help.
@MainActor
func runRoot(_ arguments: [String]) -> Int32 {
    guard let first = arguments.first else {
        printError(rootSpec.helpText)
        return ExitCode.usage
    }
    if first == "-h" || first == "--help" {
        print(rootSpec.helpText)
        return ExitCode.success
    }
    if first == "--version" {
        print("syncd \(syncdVersion)")
        return ExitCode.success
    }
    if first == "help" {
        guard arguments.count > 1 else {
            print(rootSpec.helpText)
            return ExitCode.success
        }
        return runRoot(Array(arguments.dropFirst()) + ["--help"])
    }
    guard let command = subcommands.first(where: { $0.commandName == first }) else {
        return reportUsageError(UsageError(message: "Unknown subcommand '\(first)'"), spec: rootSpec)
    }
    return command.main(Array(arguments.dropFirst()))
}

exit(runRoot(Array(CommandLine.arguments.dropFirst())))
