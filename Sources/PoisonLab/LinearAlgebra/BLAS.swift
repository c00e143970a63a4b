internal import CSystemLibraries
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Whether a matrix operand is used as stored or transposed.
public enum Transpose: Sendable {
  case none
  case transposed
}

/// An error reported by LAPACK (`info != 0`) or a shape the routines cannot take.
public struct LinearAlgebraError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The LAPACK routine that failed.
  public var routine: String
  /// LAPACK's `info` code (negative: bad argument; positive: no convergence).
  public var info: Int

  public var description: String {
    if info < 0 {
      return "\(routine): argument \(-info) had an illegal value"
    }
    return "\(routine): the algorithm failed to converge (info = \(info))"
  }
}

/// The one door to CBLAS: every matrix product in poisonlab goes through here.
///
/// All matrices are float32, row-major and contiguous (a leading dimension
/// may exceed the column count for sub-matrices). Shape mistakes are
/// programmer errors and stop with a precondition.
public enum BLAS {
  /// `C = alpha * op(A) * op(B) + beta * C` (`cblas_sgemm`, row-major).
  ///
  /// - Parameters:
  ///   - transA: whether `A` is used transposed.
  ///   - transB: whether `B` is used transposed.
  ///   - m: rows of `op(A)` and `C`.
  ///   - n: columns of `op(B)` and `C`.
  ///   - k: columns of `op(A)`, rows of `op(B)`.
  ///   - alpha: scale of the product.
  ///   - a: the matrix `A`.
  ///   - lda: leading dimension of `A` as stored.
  ///   - b: the matrix `B`.
  ///   - ldb: leading dimension of `B` as stored.
  ///   - beta: scale of the previous `C`; 0 ignores what `C` held.
  ///   - c: the output `C` (`m x n`).
  ///   - ldc: leading dimension of `C`.
  /// - Complexity: `2 m n k` floating-point operations.
  @inline(__always)
  public static func gemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
    if m == 0 || n == 0 { return }
    cblas_sgemm(
      CblasRowMajor, transA == .none ? CblasNoTrans : CblasTrans,
      transB == .none ? CblasNoTrans : CblasTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  /// `y = alpha * op(A) * x + beta * y` (`cblas_sgemv`, row-major `A` of `m x n`).
  ///
  /// - Parameters:
  ///   - trans: whether `A` is used transposed.
  ///   - m: rows of `A` as stored.
  ///   - n: columns of `A` as stored.
  ///   - alpha: scale of the product.
  ///   - a: the matrix.
  ///   - lda: leading dimension of `A`.
  ///   - x: the input vector.
  ///   - beta: scale of the previous `y`.
  ///   - y: the output vector.
  @inline(__always)
  public static func gemv(
    _ trans: Transpose, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
  ) {
    if m == 0 || n == 0 { return }
    cblas_sgemv(
      CblasRowMajor, trans == .none ? CblasNoTrans : CblasTrans, Int32(m), Int32(n), alpha, a,
      Int32(lda), x, 1, beta, y, 1)
  }

  /// `y += alpha * x` over `count` contiguous elements (`cblas_saxpy`).
  ///
  /// - Parameters:
  ///   - count: number of elements.
  ///   - alpha: the scale.
  ///   - x: the input.
  ///   - y: the accumulator.
  @inline(__always)
  public static func axpy(
    count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
  ) {
    if count > 0 { cblas_saxpy(Int32(count), alpha, x, 1, y, 1) }
  }

  /// Sets the number of threads the BLAS library uses, when it can be set.
  ///
  /// OpenBLAS exposes `openblas_set_num_threads`; it is looked up at run
  /// time, so the reference BLAS (single-threaded) links just as well.
  /// - Parameter count: threads for the following BLAS calls (>= 1).
  /// - Returns: `true` when the linked BLAS accepted the setting.
  @discardableResult
  public static func setThreads(_ count: Int) -> Bool {
    guard let symbol = dlsym(nil, "openblas_set_num_threads") else { return false }
    typealias SetThreads = @convention(c) (Int32) -> Void
    unsafeBitCast(symbol, to: SetThreads.self)(Int32(max(1, count)))
    return true
  }

  /// The file of the BLAS library actually loaded (from `/proc/self/maps`),
  /// and OpenBLAS's build description when it is OpenBLAS
  /// (for example `"OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake"`).
  public static var implementation: String {
    var parts: [String] = []
    if let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) {
      var seen: [String] = []
      for line in maps.split(separator: "\n") {
        guard let slash = line.firstIndex(of: "/") else { continue }
        let path = String(line[slash...])
        let file = path.split(separator: "/").last.map(String.init) ?? path
        if (file.hasPrefix("libblas") || file.hasPrefix("libopenblas")) && !seen.contains(path) {
          seen.append(path)
        }
      }
      parts += seen
    }
    if let symbol = dlsym(nil, "openblas_get_config") {
      typealias GetConfig = @convention(c) () -> UnsafePointer<CChar>?
      if let text = unsafeBitCast(symbol, to: GetConfig.self)() {
        parts.append(String(cString: text))
      }
    } else {
      parts.append("reference BLAS (no OpenBLAS symbols)")
    }
    return parts.joined(separator: "; ")
  }
}

/// LAPACK wrappers (LAPACKE, row-major).
///
/// Inputs are copied; results are new arrays.
public enum LAPACK {
  /// The thin singular value decomposition `A = U diag(S) Vt` (`sgesdd`).
  ///
  /// - Parameters:
  ///   - a: the `rows x cols` matrix, row-major.
  ///   - rows: number of rows `m`.
  ///   - cols: number of columns `n`.
  /// - Returns: `u` (`m x r`), `s` (descending, `r`), `vt` (`r x n`), `r = min(m, n)`.
  /// - Throws: `LinearAlgebraError` when LAPACK reports `info != 0`.
  public static func svd(
    _ a: [Float], rows: Int, cols: Int
  ) throws(LinearAlgebraError) -> (u: [Float], s: [Float], vt: [Float]) {
    precondition(a.count == rows * cols, "svd: \(a.count) elements for \(rows) x \(cols)")
    let r = min(rows, cols)
    var work = a
    var u = [Float](repeating: 0, count: rows * r)
    var s = [Float](repeating: 0, count: r)
    var vt = [Float](repeating: 0, count: r * cols)
    if r == 0 { return (u, s, vt) }
    let info = LAPACKE_sgesdd(
      LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "S")), Int32(rows), Int32(cols), &work, Int32(cols),
      &s, &u, Int32(r), &vt, Int32(cols))
    if info != 0 { throw LinearAlgebraError(routine: "sgesdd", info: Int(info)) }
    return (u, s, vt)
  }

  /// Eigenvalues (ascending) and eigenvectors of a symmetric matrix (`ssyevd`).
  ///
  /// - Parameters:
  ///   - a: the `n x n` symmetric matrix, row-major (the upper triangle is read).
  ///   - n: the order.
  /// - Returns: `values` ascending, and `vectors` whose column `j` is the
  ///   eigenvector of `values[j]` (row-major `n x n`).
  /// - Throws: `LinearAlgebraError` when LAPACK reports `info != 0`.
  public static func symmetricEigen(
    _ a: [Float], n: Int
  ) throws(LinearAlgebraError) -> (values: [Float], vectors: [Float]) {
    precondition(a.count == n * n, "symmetricEigen: \(a.count) elements for \(n) x \(n)")
    var vectors = a
    var values = [Float](repeating: 0, count: n)
    if n == 0 { return (values, vectors) }
    let info = LAPACKE_ssyevd(
      LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "U")), Int32(n), &vectors,
      Int32(n), &values)
    if info != 0 { throw LinearAlgebraError(routine: "ssyevd", info: Int(info)) }
    return (values, vectors)
  }
}
