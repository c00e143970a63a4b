import Testing

@testable import PoisonLab

@Suite("Coordinate-wise rules by sorting network")
struct ColumnSortTests {
  @Test(
    "Batcher's network sorts every 0/1 input of up to 12 values (the 0-1 principle); pruned to a few outputs it still places them"
  )
  func zeroOne() {
    for n in 1...12 {
      let pairs = ColumnSort.network(n)
      let ends = ColumnSort.network(n, keep: [0, n - 1])
      let middle = ColumnSort.network(n, keep: [n / 2])
      #expect(ends.count <= pairs.count && middle.count <= pairs.count)
      for bits in 0..<(1 << n) {
        let input = (0..<n).map { (bits >> $0) & 1 }
        func run(_ network: [(Int32, Int32)]) -> [Int] {
          var v = input
          for (a, b) in network where v[Int(a)] > v[Int(b)] { v.swapAt(Int(a), Int(b)) }
          return v
        }
        let sorted = input.sorted()
        #expect(run(pairs) == sorted, "n \(n), input \(bits)")
        let e = run(ends)
        #expect(e[0] == sorted[0] && e[n - 1] == sorted[n - 1], "ends n \(n), input \(bits)")
        #expect(run(middle)[n / 2] == sorted[n / 2], "middle n \(n), input \(bits)")
      }
    }
    // n = 100: 1,104 compare-exchanges; 898 place the median, 918 the 10 smallest and largest.
    #expect(ColumnSort.network(100).count == 1104)
    #expect(ColumnSort.network(100, keep: [49, 50]).count == 898)
    #expect(ColumnSort.network(100, keep: Array(0..<10) + Array(90..<100)).count == 918)
  }

  @Test(
    "median and trimmed mean equal the per-coordinate selection, for n 1...300 and partial groups (seed 21)"
  )
  func agreesWithSelection() {
    var rng = SplitMix64(seed: 21)
    for n in [1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 33, 64, 100, 127, 128, 129, 200, 256] {
      for d in [1, 7, 8, 13, 37] {
        // Values with ties (a coarse grid) and both signs.
        let values = (0..<(n * d)).map { _ in Float(rng.nextInt(below: 41)) / 4 - 5 }
        let set = UpdateSet(values: values, count: n, dimension: d)
        let network = ColumnSort.median(set, threads: 2)
        let reference = set.coordinateWise(threads: 1) { Selection.median($0) }
        #expect(network == reference, "median n \(n) d \(d)")
        let trim = (n - 1) / 3
        let trimmed = ColumnSort.trimmedMean(set, trim: trim, threads: 3)
        for j in 0..<d {
          let column = (0..<n).map { values[$0 * d + j] }.sorted()
          let sum = column[trim..<(n - trim)].reduce(0.0) { $0 + Double($1) }
          // The middle values are summed in the network's order: equal up to rounding.
          let expected = Float(sum / Double(n - 2 * trim))
          #expect(
            abs(trimmed[j] - expected) <= 1e-6 * max(1, abs(expected)),
            "trimmed n \(n) d \(d) j \(j): \(trimmed[j]) vs \(expected)")
        }
      }
    }
  }
}
