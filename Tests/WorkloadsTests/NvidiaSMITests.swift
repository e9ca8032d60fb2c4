import Testing

@testable import Workloads

/// nvidia-smi cannot run here (no GPU): its CSV answers, as the real tool prints them, are parsed here.
@Suite("nvidia-smi output")
struct NvidiaSMITests {
    @Test("the inventory query gives GPU types and memory")
    func inventory() {
        let gpus = NodeInventory.parseNvidiaSMI("NVIDIA H100 80GB HBM3, 81559\nNVIDIA A100-SXM4-40GB, 40960\nTesla V100-SXM2-16GB, 16384\n")
        #expect(gpus.map(\.type) == ["h100", "a100", "v100"])
        #expect(gpus.map(\.memoryGB) == [80, 40, 16])
    }

    @Test("the utilisation query gives each GPU's load and memory; unreadable lines are skipped")
    func utilisation() {
        let samples = NodeInventory.parseSamples("0, 87, 40536, 81559\n1, 0, 3, 81559\n2, [N/A], [N/A], 81559\n")
        #expect(samples.count == 2)
        #expect(
            samples[0].index == 0 && samples[0].utilizationPercent == 87 && samples[0].memoryUsedMiB == 40536 && samples[0].memoryTotalMiB == 81559)
        #expect(samples[1].index == 1 && samples[1].utilizationPercent == 0)
    }
}
