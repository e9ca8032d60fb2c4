import AITIPCore
import Executors
import Foundation
import Logging

/// The nodes this server runs work on with the local executor: this machine with its real GPUs (from
/// `nvidia-smi`), or, for development without GPUs, simulated ones (`--simulate-gpus a100:4,h100:2`: one node per
/// type, each with this machine's CPU and memory; work runs here with CUDA_VISIBLE_DEVICES set as if they were real).
/// Where the engine learns the nodes it schedules on. `source` names the nodes it owns: nodes of that source that
/// it no longer reports are marked offline.
package protocol NodeSource: Sendable {
    var sources: Set<String> { get }
    /// Asked again on every heartbeat when true (a cluster changes); a machine's inventory is read once.
    var refreshes: Bool { get }
    func nodes(now: Int64) async throws -> [GPUNode]
}

package struct NodeInventory: NodeSource {
    package var sources: Set<String> { ["local", "simulated"] }
    package var refreshes: Bool { false }

    package struct SimulatedGPUs: Sendable, Equatable {
        package var type: String
        package var count: Int

        /// Parses `a100:4,h100:2`.
        package static func parse(_ text: String) throws(AppError) -> [SimulatedGPUs] {
            var result: [SimulatedGPUs] = []
            for part in text.split(separator: ",") where !part.isEmpty {
                let pieces = part.split(separator: ":")
                guard pieces.count == 2, let count = Int(pieces[1]), (1...64).contains(count), WorkloadService.isName(String(pieces[0])) else {
                    throw AppError.badRequest("--simulate-gpus takes TYPE:COUNT[,TYPE:COUNT…] with COUNT 1-64, e.g. a100:4; got '\(part)'")
                }
                result.append(SimulatedGPUs(type: String(pieces[0]), count: count))
            }
            return result
        }
    }

    let hostname: String
    let simulated: [SimulatedGPUs]
    let logger: Logger

    package init(hostname: String = ProcessInfo.processInfo.hostName, simulated: [SimulatedGPUs], logger: Logger) {
        self.hostname = hostname
        self.simulated = simulated
        self.logger = logger
    }

    package func nodes(now: Int64) async throws -> [GPUNode] { localNodes(now: now) }

    func localNodes(now: Int64) -> [GPUNode] {
        let cpu = Double(ProcessInfo.processInfo.activeProcessorCount)
        let memory = Int(ProcessInfo.processInfo.physicalMemory / 1_048_576)
        let real = Self.nvidiaGPUs()
        if !real.isEmpty {
            if !simulated.isEmpty { logger.warning("this machine has GPUs: --simulate-gpus is ignored") }
            return Dictionary(grouping: real, by: \.type).sorted { $0.key < $1.key }.enumerated().map { index, entry in
                node(
                    name: index == 0 ? hostname : "\(hostname)-\(entry.key)", type: entry.key, count: entry.value.count,
                    gpuMemoryGB: entry.value.first?.memoryGB, cpu: cpu, memory: memory, source: "local", now: now)
            }
        }
        if simulated.isEmpty {
            return [node(name: hostname, type: nil, count: 0, gpuMemoryGB: nil, cpu: cpu, memory: memory, source: "local", now: now)]
        }
        return simulated.map { gpus in
            node(
                name: "\(hostname)-sim-\(gpus.type)", type: gpus.type, count: gpus.count, gpuMemoryGB: nil, cpu: cpu, memory: memory,
                source: "simulated", now: now)
        }
    }

    private func node(name: String, type: String?, count: Int, gpuMemoryGB: Int?, cpu: Double, memory: Int, source: String, now: Int64) -> GPUNode {
        GPUNode.make(
            name: name, type: type, count: count, gpuMemoryGB: gpuMemoryGB, cpu: cpu, memory: memory, source: source,
            labels: ["executor": "local", "simulated": source == "simulated" ? "true" : "false"], now: now)
    }
}

extension GPUNode {
    static func make(
        name: String, type: String?, count: Int, gpuMemoryGB: Int?, cpu: Double, memory: Int, source: String,
        labels: [String: String], now: Int64
    ) -> GPUNode {
        let labelsJSON = String(decoding: (try? JSONEncoder.sorted.encode(labels)) ?? Data("{}".utf8), as: UTF8.self)
        return GPUNode(
            id: IDGenerator.uuidV7(), name: name, nodeType: type, gpuCount: count, gpuMemoryGB: gpuMemoryGB, cpuCores: cpu,
            memoryMiB: memory, status: .available, labelsJSON: labelsJSON, source: source, totalJobs: 0, totalGPUSeconds: 0,
            lastHeartbeatMs: now, createdMs: now)
    }
}

extension NodeInventory {
    struct RealGPU {
        var type: String
        var memoryGB: Int
    }

    /// `nvidia-smi --query-gpu=name,memory.total`; empty when the tool or the GPUs are missing.
    static func nvidiaGPUs() -> [RealGPU] {
        nvidiaSMI(["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]).map(parseNvidiaSMI) ?? []
    }

    /// Utilisation and memory of the GPUs with these indices now; empty without nvidia-smi (simulated GPUs).
    package static func sampleGPUs(_ indices: [Int]) -> [GPUSample] {
        guard !indices.isEmpty,
            let text = nvidiaSMI(["--query-gpu=index,utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits"])
        else { return [] }
        let wanted = Set(indices)
        return parseSamples(text).filter { wanted.contains($0.index) }
    }

    /// "0, 87, 40536, 81559" per line → index 0, 87 %, 40,536 of 81,559 MiB. "[N/A]" fields make the line unreadable.
    static func parseSamples(_ text: String) -> [GPUSample] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 4, let index = Int(fields[0]), let utilization = Double(fields[1]),
                let used = Int(fields[2]), let total = Int(fields[3])
            else { return nil }
            return GPUSample(index: index, utilizationPercent: utilization, memoryUsedMiB: used, memoryTotalMiB: total)
        }
    }

    private static func nvidiaSMI(_ arguments: [String]) -> String? {
        guard let tool = ["/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: output, as: UTF8.self) : nil
    }

    /// "NVIDIA H100 80GB HBM3, 81559" → type h100, 80 GB; "NVIDIA A100-SXM4-40GB, 40960" → a100, 40 GB.
    static func parseNvidiaSMI(_ text: String) -> [RealGPU] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 2, let mib = Int(fields[1]) else { return nil }
            let words = fields[0].lowercased().split(separator: " ").filter { $0 != "nvidia" && $0 != "tesla" && $0 != "geforce" }
            // "A100-SXM4-40GB" is an a100: the model is what precedes the first '-'.
            let model = words.first.flatMap { $0.split(separator: "-").first }
            let type = model.map { String($0).filter { $0.isLetter || $0.isNumber } } ?? "gpu"
            return RealGPU(type: type.isEmpty ? "gpu" : type, memoryGB: Int((Double(mib) / 1_024).rounded()))
        }
    }
}
