/// Compares the whole source and destination at the end of a run (verify mode `all`).
struct TreeVerifier {
    let context: TaskContext

    func run(source: String, destination: String) {
    }
}
