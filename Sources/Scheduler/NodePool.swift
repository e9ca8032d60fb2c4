import Foundation

/// Free capacity of every node during one cycle. Schedulable GPU nodes are bucketed by (GPU type, free GPU count),
/// so a best-fit placement costs O(GPUs per node) instead of a scan over every node.
///
/// A node's free GPUs are a bit set (bit i: GPU i is free): the pool is rebuilt every cycle and copied for every
/// preemption and reservation trial, and arrays of indices made that a thousand allocations each time (perf,
/// scheduler-bench). GPUs beyond index 63 of one node are not scheduled (no node type has that many).
struct NodePool {
    static let maxGPUsPerNode = 64

    private(set) var nodes: [NodeCapacity]
    private(set) var freeGPUs: [UInt64]
    private(set) var freeCPU: [Double]
    private(set) var freeMemory: [Int]
    private let indexById: [UUID: Int]
    /// gpu type → free GPU count → schedulable node indices.
    private var buckets: [String: [Set<Int>]] = [:]
    let gpuTypes: [String]

    init(nodes: [NodeCapacity], running: [RunningWorkload]) {
        self.nodes = nodes
        var index: [UUID: Int] = [:]
        index.reserveCapacity(nodes.count)
        for (position, node) in nodes.enumerated() { index[node.id] = position }
        indexById = index
        freeGPUs = nodes.map { Self.mask(of: 0..<min($0.gpuCount, Self.maxGPUsPerNode)) }
        freeCPU = nodes.map(\.cpu)
        freeMemory = nodes.map(\.memoryMiB)
        gpuTypes = Array(Set(nodes.compactMap { $0.gpuCount > 0 ? $0.gpuType : nil })).sorted()
        for type in gpuTypes {
            let most = nodes.filter { $0.gpuType == type }.map { min($0.gpuCount, Self.maxGPUsPerNode) }.max() ?? 0
            buckets[type] = Array(repeating: [], count: most + 1)
        }
        for workload in running {
            for placement in workload.placements {
                guard let position = index[placement.nodeId] else { continue }
                freeGPUs[position] &= ~Self.mask(of: placement.gpuIndices)
                freeCPU[position] -= placement.cpu
                freeMemory[position] -= placement.memoryMiB
            }
        }
        for (position, node) in nodes.enumerated() where node.schedulable && node.gpuType != nil && node.gpuCount > 0 {
            buckets[node.gpuType!]![freeGPUs[position].nonzeroBitCount].insert(position)
        }
    }

    static func mask(of indices: some Sequence<Int>) -> UInt64 {
        indices.reduce(0) { mask, index in (0..<maxGPUsPerNode).contains(index) ? mask | (1 << UInt64(index)) : mask }
    }

    func position(of nodeId: UUID) -> Int? { indexById[nodeId] }

    /// Distinct nodes that can each hold one part of `request` now, smallest adequate nodes first; nil when the
    /// whole gang does not fit.
    func find(_ request: ResourceRequest, allowed: (Int) -> Bool) -> [Int]? {
        let perNode = request.gpusPerNode
        if perNode == 0 { return findWithoutGPU(request, allowed: allowed) }
        let types = request.gpuType.map { [$0] } ?? gpuTypes
        for type in types {
            guard let byFree = buckets[type], perNode < byFree.count else { continue }
            var chosen: [Int] = []
            chosen.reserveCapacity(request.nodes)
            search: for free in perNode..<byFree.count {
                for position in byFree[free] where allowed(position) && fitsHost(request, position) {
                    chosen.append(position)
                    if chosen.count == request.nodes { break search }
                }
            }
            if chosen.count == request.nodes { return chosen }
        }
        return nil
    }

    /// CPU-only work goes to nodes without free GPUs first, keeping GPU nodes whole for GPU work.
    private func findWithoutGPU(_ request: ResourceRequest, allowed: (Int) -> Bool) -> [Int]? {
        var chosen: [Int] = []
        for preferGPUFree in [true, false] {
            for position in nodes.indices
            where nodes[position].schedulable && !chosen.contains(position)
                && ((freeGPUs[position] == 0) == preferGPUFree) && allowed(position) && fitsHost(request, position)
            {
                chosen.append(position)
                if chosen.count == request.nodes { return chosen }
            }
        }
        return nil
    }

    private func fitsHost(_ request: ResourceRequest, _ position: Int) -> Bool {
        freeCPU[position] + 1e-9 >= request.cpu && freeMemory[position] >= request.memoryMiB
    }

    /// Takes the lowest free GPU indices on each chosen node.
    mutating func allocate(_ request: ResourceRequest, on positions: [Int]) -> [Placement] {
        let placements = positions.map { position in
            var free = freeGPUs[position]
            var indices: [Int] = []
            indices.reserveCapacity(request.gpusPerNode)
            while indices.count < request.gpusPerNode && free != 0 {
                indices.append(free.trailingZeroBitCount)
                free &= free - 1
            }
            return Placement(nodeId: nodes[position].id, gpuIndices: indices, cpu: request.cpu, memoryMiB: request.memoryMiB)
        }
        take(placements)
        return placements
    }

    mutating func take(_ placements: [Placement]) {
        for placement in placements {
            guard let position = indexById[placement.nodeId] else { continue }
            let taken = Self.mask(of: placement.gpuIndices)
            moveBucket(position) { $0 &= ~taken }
            freeCPU[position] -= placement.cpu
            freeMemory[position] -= placement.memoryMiB
        }
    }

    mutating func release(_ placements: [Placement]) {
        for placement in placements {
            guard let position = indexById[placement.nodeId] else { continue }
            let returned = Self.mask(of: placement.gpuIndices)
            moveBucket(position) { $0 |= returned }
            freeCPU[position] += placement.cpu
            freeMemory[position] += placement.memoryMiB
        }
    }

    private mutating func moveBucket(_ position: Int, _ change: (inout UInt64) -> Void) {
        let node = nodes[position]
        let bucketed = node.schedulable && node.gpuCount > 0 && node.gpuType != nil
        if bucketed { buckets[node.gpuType!]![freeGPUs[position].nonzeroBitCount].remove(position) }
        change(&freeGPUs[position])
        if bucketed { buckets[node.gpuType!]![freeGPUs[position].nonzeroBitCount].insert(position) }
    }

    /// The most GPUs of `type` (any type when nil) free on one schedulable node now.
    func mostFreeGPUsOnOneNode(type: String?) -> Int {
        var most = 0
        for type in type.map({ [$0] }) ?? gpuTypes {
            guard let byFree = buckets[type] else { continue }
            if let highest = byFree.indices.last(where: { !byFree[$0].isEmpty }) { most = max(most, highest) }
        }
        return most
    }
}

/// A binary min-heap: the scheduler's lane order.
struct MinHeap<Element: Comparable> {
    private var items: [Element] = []

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left] < items[smallest] { smallest = left }
            if right < items.count && items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
