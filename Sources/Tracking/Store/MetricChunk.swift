import Foundation

/// The packed form of a metric's points: 24 bytes per point, little-endian (step: Int64, timestamp ms: Int64,
/// value: Double bits). NaN and infinities are stored as their IEEE bits, so nothing needs a flag.
enum MetricChunk {
    static let bytesPerPoint = 24

    static func pack(_ points: some Collection<MetricPoint>) -> Data {
        var data = Data(count: points.count * bytesPerPoint)
        data.withUnsafeMutableBytes { raw in
            var offset = 0
            for point in points {
                raw.storeBytes(of: point.step.littleEndian, toByteOffset: offset, as: Int64.self)
                raw.storeBytes(of: point.timestampMs.littleEndian, toByteOffset: offset + 8, as: Int64.self)
                raw.storeBytes(of: point.value.bitPattern.littleEndian, toByteOffset: offset + 16, as: UInt64.self)
                offset += bytesPerPoint
            }
        }
        return data
    }

    static func unpack(_ data: Data, key: String, into points: inout [MetricPoint]) {
        let count = data.count / bytesPerPoint
        points.reserveCapacity(points.count + count)
        data.withUnsafeBytes { raw in
            for index in 0..<count {
                let offset = index * bytesPerPoint
                let step = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                let timestamp = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: Int64.self))
                let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
                points.append(MetricPoint(key: key, value: Double(bitPattern: bits), timestampMs: timestamp, step: step))
            }
        }
    }
}

/// Largest-Triangle-Three-Buckets downsampling: keeps the first and last points and, from each bucket between,
/// the point that spans the largest triangle with its neighbours, so a chart of `threshold` points keeps the
/// series' shape (peaks included). Points must be in step order; NaN values are kept out of the selection.
package enum Downsample {
    package static func lttb(_ points: [MetricPoint], threshold: Int) -> [MetricPoint] {
        guard threshold >= 3, points.count > threshold else { return points }
        var result: [MetricPoint] = [points[0]]
        result.reserveCapacity(threshold)
        let bucketSize = Double(points.count - 2) / Double(threshold - 2)
        var previous = 0
        for bucket in 0..<(threshold - 2) {
            let start = Int(Double(bucket) * bucketSize) + 1
            let end = min(Int(Double(bucket + 1) * bucketSize) + 1, points.count - 1)
            let nextStart = end
            let nextEnd = min(Int(Double(bucket + 2) * bucketSize) + 1, points.count)
            var averageX = 0.0, averageY = 0.0, counted = 0.0
            for index in nextStart..<max(nextEnd, nextStart + 1) where index < points.count && points[index].value.isFinite {
                averageX += Double(points[index].step)
                averageY += points[index].value
                counted += 1
            }
            if counted > 0 { averageX /= counted; averageY /= counted }
            let anchor = points[previous]
            var best = start
            var bestArea = -1.0
            for index in start..<max(end, start + 1) where index < points.count - 1 {
                let candidate = points[index]
                guard candidate.value.isFinite else { continue }
                let area = abs(
                    (Double(anchor.step) - averageX) * (candidate.value - anchor.value)
                        - (Double(anchor.step) - Double(candidate.step)) * (averageY - anchor.value))
                if area > bestArea {
                    bestArea = area
                    best = index
                }
            }
            result.append(points[best])
            previous = best
        }
        result.append(points[points.count - 1])
        return result
    }
}
