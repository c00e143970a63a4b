// swift-tools-version: 6.2
import PackageDescription

// libFuzzer targets for poisonlab's parsers (see README, Reliability, and
// scripts/fuzz.sh). Build each product with
//   swift build --product NAME -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// libFuzzer supplies `main`; each target defines LLVMFuzzerTestOneInput.
let package = Package(
  name: "poisonlab-fuzz",
  dependencies: [.package(name: "poisonlab", path: "..")],
  targets: [
    .target(
      name: "FuzzSupport", dependencies: [.product(name: "PoisonLab", package: "poisonlab")]),
    .executableTarget(name: "FuzzScenario", dependencies: ["FuzzSupport"]),
    .executableTarget(name: "FuzzOverride", dependencies: ["FuzzSupport"]),
    .executableTarget(name: "FuzzIDX", dependencies: ["FuzzSupport"]),
    .executableTarget(name: "FuzzNPY", dependencies: ["FuzzSupport"]),
    .executableTarget(name: "FuzzCSV", dependencies: ["FuzzSupport"]),
  ]
)
