extension Array {
    /// The array in pieces of at most `size` elements: SQL `IN (…)` lists stay under the databases' bind limits.
    package func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
