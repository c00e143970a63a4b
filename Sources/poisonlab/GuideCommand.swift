import ArgumentParser
import Foundation
import PoisonLab

/// `poisonlab guide NAME`: a plug-in's guide.
struct GuideCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "guide",
    abstract: "Print the guide of a dataset, model, partition, attack, defense, audit or signal.",
    discussion: """
      The hand-written guide (docs/guides/FAMILY/NAME.md, found from the working folder or the \
      binary's repository) as plain text, else one generated from the registry. A name in two \
      families takes FAMILY/NAME (csv is a dataset and a format). Without a name, lists the names.

      Example:
        poisonlab guide krum
        poisonlab guide formats/csv
      """)

  @Argument(help: "The plug-in's name (or FAMILY/NAME).")
  var name: String?

  func run() throws {
    guard let name else {
      var text = ""
      for family in Set(Guides.entries.map(\.family)).sorted() {
        let names = Guides.entries.filter { $0.family == family }.map(\.descriptor.name)
        text += "\(family): \(names.joined(separator: ", "))\n"
      }
      Terminal.out(text)
      return
    }
    guard let entry = Guides.lookup(name) else {
      let names = Guides.entries.map(\.descriptor.name)
      Terminal.error(
        "poisonlab: no guide named \"\(name)\"\(Suggest.phrase(for: name, in: names)) (poisonlab guide lists them)"
      )
      throw ExitCode(Exit.invalid)
    }
    // The running binary's own path (/proc/self/exe), not argv[0], which
    // is a bare name when the binary is found through PATH.
    let roots = Guides.roots(
      workingDirectory: FileManager.default.currentDirectoryPath,
      executable: Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
    Terminal.out(Guides.text(for: entry, roots: roots) + "\n")
  }
}
