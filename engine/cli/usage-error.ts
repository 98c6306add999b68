// A mistake in how a command was called: the CLI prints its message (no stack trace) and exits 1.
export class CliUsageError extends Error {
    override name = "CliUsageError";
}
