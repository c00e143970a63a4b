/// HDBSCAN clustering on a precomputed distance matrix (Campello, Moulavi &
/// Sander 2013, "Density-Based Clustering Based on Hierarchical Density
/// Estimates"; labelling as in McInnes, Healy & Astels 2017 and scikit-learn's
/// `HDBSCAN`).
///
/// 1. Core distance `core_k(x)`: distance to the `minSamples`-th nearest
///    point, the point itself counted (so `minSamples = 1` gives 0).
/// 2. Mutual reachability `d_mr(a, b) = max(core_k(a), core_k(b), d(a, b))`.
/// 3. Minimum spanning tree of `d_mr` (Prim, `O(n^2)`), edges sorted by
///    weight give the single-linkage dendrogram.
/// 4. Condensed tree with `lambda = 1 / distance`: a split whose sides both
///    have at least `minClusterSize` points makes two child clusters;
///    otherwise the small side's points fall out of the parent at that lambda.
/// 5. Stability `S(C) = sum_{p in C} (lambda_p - lambda_birth(C))`; excess of
///    mass selection keeps a cluster when its stability is at least the sum
///    of its selected descendants'. The root is a candidate only with
///    `allowSingleCluster`, and then only points that leave it at its largest
///    lambda are labelled (the others are noise), as in scikit-learn.
///
/// Zero distances are treated as `1e-300` so lambdas stay finite.
public enum HDBSCAN {
  /// One edge of the single-linkage dendrogram: merges `left` and `right`.
  struct Merge {
    var left: Int
    var right: Int
    var distance: Double
    var size: Int
  }

  /// Cluster labels for `n` points.
  /// - Parameters:
  ///   - distances: the symmetric `n x n` distance matrix, row-major.
  ///   - n: the number of points.
  ///   - minClusterSize: the smallest group called a cluster (at least 2).
  ///   - minSamples: the neighbour count of the core distance (point included); default 1.
  ///   - allowSingleCluster: whether the root may be the one selected cluster.
  /// - Returns: a label per point, `-1` for noise, clusters numbered from 0
  ///   in order of their first point.
  public static func labels(
    distances: [Double], n: Int, minClusterSize: Int, minSamples: Int = 1,
    allowSingleCluster: Bool = false
  ) -> [Int] {
    guard n > 1 else { return [Int](repeating: allowSingleCluster ? 0 : -1, count: n) }
    let k = max(1, min(minSamples, n))
    let mcs = max(2, minClusterSize)
    // 1-2. core distances and mutual reachability
    let core: [Double] = (0..<n).map { i in
      let row = (0..<n).map { j in i == j ? 0 : distances[i * n + j] }.sorted()
      return row[k - 1]
    }
    func reach(_ a: Int, _ b: Int) -> Double { max(core[a], core[b], distances[a * n + b]) }
    // 3. Prim's minimum spanning tree, then single linkage via union-find
    var inTree = [Bool](repeating: false, count: n)
    var best = [Double](repeating: .infinity, count: n)
    var from = [Int](repeating: 0, count: n)
    var edges: [(a: Int, b: Int, w: Double)] = []
    var current = 0
    inTree[0] = true
    for _ in 1..<n {
      var next = -1
      for j in 0..<n where !inTree[j] {
        let w = reach(current, j)
        if w < best[j] {
          best[j] = w
          from[j] = current
        }
        if next < 0 || best[j] < best[next] { next = j }
      }
      inTree[next] = true
      edges.append((from[next], next, best[next]))
      current = next
    }
    edges.sort { ($0.w, $0.a, $0.b) < ($1.w, $1.a, $1.b) }
    var parent = Array(0..<(2 * n - 1))
    var size = [Int](repeating: 1, count: 2 * n - 1)
    func find(_ x: Int) -> Int {
      var r = x
      while parent[r] != r { r = parent[r] }
      var y = x
      while parent[y] != r {
        let next = parent[y]
        parent[y] = r
        y = next
      }
      return r
    }
    var merges: [Merge] = []
    for (index, edge) in edges.enumerated() {
      let ra = find(edge.a)
      let rb = find(edge.b)
      let node = n + index
      parent[ra] = node
      parent[rb] = node
      size[node] = size[ra] + size[rb]
      merges.append(Merge(left: ra, right: rb, distance: edge.w, size: size[node]))
    }
    // 4. condensed tree: clusters, their birth lambda, parent, and point exits
    var clusterParent = [-1]
    var birth = [0.0]
    var pointCluster = [Int](repeating: 0, count: n)
    var pointLambda = [Double](repeating: 0, count: n)
    var stability = [0.0]
    func leaves(_ node: Int) -> [Int] {
      var stack = [node]
      var out: [Int] = []
      while let x = stack.popLast() {
        if x < n {
          out.append(x)
        } else {
          stack.append(merges[x - n].left)
          stack.append(merges[x - n].right)
        }
      }
      return out
    }
    func nodeSize(_ node: Int) -> Int { node < n ? 1 : merges[node - n].size }
    func fallOut(_ node: Int, from cluster: Int, at lambda: Double) {
      for p in leaves(node) {
        pointCluster[p] = cluster
        pointLambda[p] = lambda
        stability[cluster] += lambda - birth[cluster]
      }
    }
    var work: [(node: Int, cluster: Int)] = [(2 * n - 2, 0)]
    while let (node, cluster) = work.popLast() {
      let merge = merges[node - n]
      let lambda = 1 / max(merge.distance, 1e-300)
      let leftBig = nodeSize(merge.left) >= mcs
      let rightBig = nodeSize(merge.right) >= mcs
      switch (leftBig, rightBig) {
      case (true, true):
        for child in [merge.left, merge.right] {
          clusterParent.append(cluster)
          birth.append(lambda)
          stability.append(0)
          stability[cluster] += Double(nodeSize(child)) * (lambda - birth[cluster])
          work.append((child, birth.count - 1))
        }
      case (true, false):
        fallOut(merge.right, from: cluster, at: lambda)
        work.append((merge.left, cluster))
      case (false, true):
        fallOut(merge.left, from: cluster, at: lambda)
        work.append((merge.right, cluster))
      case (false, false):
        fallOut(node, from: cluster, at: lambda)
      }
    }
    // 5. excess of mass, leaves first (children always have larger ids)
    let clusters = birth.count
    var children = [[Int]](repeating: [], count: clusters)
    for c in 1..<clusters { children[clusterParent[c]].append(c) }
    var selected = [Bool](repeating: false, count: clusters)
    var value = stability
    for c in stride(from: clusters - 1, through: 0, by: -1) {
      if children[c].isEmpty {
        selected[c] = c != 0 || allowSingleCluster
        continue
      }
      let childSum = children[c].reduce(0) { $0 + value[$1] }
      if (c != 0 || allowSingleCluster) && stability[c] >= childSum {
        selected[c] = true
        var stack = children[c]
        while let x = stack.popLast() {
          selected[x] = false
          stack.append(contentsOf: children[x])
        }
      } else {
        value[c] = childSum
      }
    }
    // labels: a point belongs to the selected ancestor of the cluster it left
    var ids = [Int](repeating: -1, count: clusters)
    var result = [Int](repeating: -1, count: n)
    var nextID = 0
    // with the root selected, only points leaving at its largest lambda count
    let rootExits =
      (0..<n).filter { pointCluster[$0] == 0 }.map { pointLambda[$0] }
      + children[0].map { birth[$0] }
    let rootThreshold = rootExits.max() ?? 0
    for p in 0..<n {
      var c = pointCluster[p]
      while c >= 0 && !selected[c] { c = clusterParent[c] }
      guard c >= 0 else { continue }
      if c == 0 && pointLambda[p] < rootThreshold { continue }
      if ids[c] < 0 {
        ids[c] = nextID
        nextID += 1
      }
      result[p] = ids[c]
    }
    return result
  }
}
