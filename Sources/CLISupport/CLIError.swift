/// A failure reported to the user: ArgumentParser prints `Error: <description>` to stderr and
/// exits with code 1.
package struct CLIError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
