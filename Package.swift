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
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // Ed25519, X25519, SHA-256, HKDF and ChaCha20 for the update channel
    // (Channel/Cryptography.swift is the only file that imports it).
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
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
      dependencies: [
        "CSystemLibraries",
        .product(name: "Crypto", package: "swift-crypto"),
      ],
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
      // Fixtures and the reference scripts that produced the goldens beside their tests.
      exclude: [
        "Fixtures", "Attacks/line_search_reference.py", "Attacks/optimal_alie_reference.py",
        "Defenses/foolsgold_reference.py", "Defenses/geometric_median_reference.py",
        "Privacy/varying_rate_reference.py", "Audit/strip_reference.py",
      ],
      swiftSettings: ownSettings
    ),
  ]
)
