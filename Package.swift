// swift-tools-version: 6.2
import PackageDescription

/// Settings shared by every target the project owns (not by dependencies).
let ownSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
  .treatAllWarnings(as: .error),
]

let package = Package(
  name: "poisonlab",
  products: [
    .executable(name: "poisonlab", targets: ["poisonlab"]),
    .library(name: "PoisonLab", targets: ["PoisonLab"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // CBLAS, LAPACKE and zlib from Debian's packages. Only
    // LinearAlgebra/BLAS.swift and Data/Formats/Gzip.swift import it.
    .systemLibrary(
      name: "CSystemLibraries",
      providers: [.apt(["libblas-dev", "liblapacke-dev", "zlib1g-dev"])]
    ),
    .target(
      name: "PoisonLab",
      dependencies: ["CSystemLibraries"],
      swiftSettings: ownSettings
    ),
    .executableTarget(
      name: "poisonlab",
      dependencies: [
        "PoisonLab",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: ownSettings
    ),
    .testTarget(
      name: "PoisonLabTests",
      dependencies: ["PoisonLab"],
      exclude: ["Fixtures"],
      swiftSettings: ownSettings
    ),
  ]
)
