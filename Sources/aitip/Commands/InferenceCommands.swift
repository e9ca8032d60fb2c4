import AITIPAPI
import AITIPClient
import ArgumentParser
import AsyncHTTPClient
import Foundation
import OpenAPIRuntime

struct InferenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Inference services: deploy a registered model version, list, show, scale, start, stop, delete, and call it.",
        subcommands: [Deploy.self, List.self, Get.self, Logs.self, Scale.self, Start.self, Stop.self, Delete.self, Invoke.self])

    static let columns = ["id", "name", "model_uri", "status", "health_status", "replicas", "traffic_percentage", "status_reason"]

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy a model version: an MLflow model as it is (--runtime mlflow), or your server (--code DIR --command …).",
            discussion: """
                Examples:
                  aitip inference deploy --project P --name ranker --model models:/ranker@champion --runtime mlflow \\
                    --python /opt/venv/bin/python
                  aitip inference deploy --project P --name ranker --model models:/ranker@champion \\
                    --code serving --command "exec python3 serve.py" --replicas 2
                With --runtime mlflow the model's files are served by MLflow's scoring server (POST /invocations), run by
                --python (it needs mlflow and uvicorn). With the process runtime --code DIR is packed and uploaded, and
                --command runs in it serving HTTP on $AITIP_SERVE_SOCKET.
                A canary of an existing service: add --parent SERVICE_ID --traffic 10 (percent), or --route-header X-Variant=b;
                with --shadow it gets copies of --traffic percent of the requests and answers no caller.
                Scale to zero: --autoscale rps=N --min-replicas 0 (after the scale-down window without a request; the next
                request waits while a replica starts).
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Service name (lowercase letters, digits, '-').") var name: String
        @Option(help: "models:/NAME/VERSION or models:/NAME@ALIAS.") var model: String
        @Option(help: "process (your --command) or mlflow (the model served by MLflow's scoring server).") var runtime = "process"
        @Option(help: "process: command run by /bin/sh in the code directory; it serves HTTP on the Unix socket $AITIP_SERVE_SOCKET.")
        var command: String?
        @Option(help: "mlflow: the Python with mlflow and uvicorn installed (default python3 on the node).") var python: String?
        @Option(help: "Code directory to package and upload.") var code: String?
        @Option(help: "Path that answers 2xx when a replica is ready.") var healthPath: String?
        @Option(help: "Replicas to run.") var replicas: Int?
        @Option(help: "CPU cores per replica.") var cpu: Double?
        @Option(help: "Memory per replica, MiB.") var memoryMib: Int?
        @Option(help: "GPU type, e.g. a100.") var gpuType: String?
        @Option(help: "GPUs per replica.") var gpus: Int?
        @Option(help: "Environment variable NAME=VALUE (repeatable).") var env: [String] = []
        @Option(help: "Make it a canary of this service.") var parent: String?
        @Option(help: "A canary's share of its parent's requests, percent.") var traffic: Int?
        @Option(help: "A canary takes every request with this header: NAME=VALUE.") var routeHeader: String?
        @Flag(help: "A shadow canary: copies of --traffic percent of the parent's requests, its answers dropped.") var shadow = false
        @Option(help: "Scale between --min-replicas and --max-replicas on the load: concurrency=N or rps=N per replica.") var autoscale: String?
        @Option(help: "Fewest replicas (with --autoscale).") var minReplicas: Int?
        @Option(help: "Most replicas (with --autoscale).") var maxReplicas: Int?
        @Option(help: "The most requests per second the gateway lets through (more are answered 429).") var rateLimit: Double?

        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let environment = try CodePackage.environment(env)
                let archive = try await code.asyncMap { try await CodePackage.upload($0, project: project, client: client) }
                let header = try routeHeader.map { text -> Components.Schemas.RouteHeader in
                    guard let equals = text.firstIndex(of: "=") else { throw ValidationError("--route-header takes NAME=VALUE") }
                    return .init(name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
                }
                let autoscaling = try autoscale.map { text -> Components.Schemas.Autoscaling in
                    let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2, let metric = Components.Schemas.Autoscaling.MetricPayload(rawValue: parts[0]),
                        let target = Double(parts[1])
                    else { throw ValidationError("--autoscale takes concurrency=N or rps=N") }
                    return .init(metric: metric, target: target)
                }
                let resources = Components.Schemas.InferenceResources(cpu: cpu, memoryMib: memoryMib, gpuType: gpuType, gpuCount: gpus)
                let body = Components.Schemas.InferenceServiceCreate(
                    projectId: project, name: name, model: model, runtime: runtime,
                    runtimeConfig: .init(
                        command: command, python: python, healthPath: healthPath,
                        env: environment.isEmpty ? nil : .init(additionalProperties: environment), codeArchive: archive),
                    resources: resources == .init() ? nil : resources, replicas: replicas, minReplicas: minReplicas, maxReplicas: maxReplicas,
                    parentServiceId: parent, trafficPercentage: traffic, shadow: shadow ? true : nil, routeHeader: header, autoscaling: autoscaling,
                    rateLimitRps: rateLimit)
                let created = try await client.api.createInferenceService(body: .json(body)).created.body.json
                try Output.show(created, format: options.output, columns: InferenceCommand.columns)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A project's inference services, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String
        func run() async throws {
            try await ClientCall.show(options, columns: InferenceCommand.columns) { api in
                try await api.listInferenceServices(query: .init(projectId: project, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a service with its replicas and canaries; --metrics shows what the gateway saw.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Service id.") var id: String
        @Flag(help: "Requests, errors, rate and latency per version instead.") var metrics = false
        func run() async throws {
            if metrics {
                try await ClientCall.show(options) { api in try await api.getInferenceServiceMetrics(path: .init(serviceId: id)).ok.body.json }
            } else {
                try await ClientCall.show(options) { api in try await api.getInferenceService(path: .init(serviceId: id)).ok.body.json }
            }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a replica's output: the newest replica's, or --replica ID (live or ended).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Service id.") var id: String
        @Option(help: "A replica's workload id.") var replica: String?
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let answer = try await client.transfers.getInferenceServiceLogs(path: .init(serviceId: id), query: .init(replica: replica)).ok
                FileHandle.standardError.write(Data("replica \(answer.headers.xAitipReplica ?? "?")\n".utf8))
                for try await chunk in try answer.body.plainText { FileHandle.standardOutput.write(Data(chunk)) }
            }
        }
    }

    struct Scale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the number of replicas; extra ones are drained before they stop.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Service id.") var id: String
        @Option(help: "Replicas wanted.") var replicas: Int
        func run() async throws {
            try await ClientCall.show(options, columns: InferenceCommand.columns) { api in
                try await api.scaleInferenceService(path: .init(serviceId: id), body: .json(.init(replicas: replicas))).ok.body.json
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a stopped or failed service again.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Service id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: InferenceCommand.columns) { api in
                try await api.startInferenceService(path: .init(serviceId: id)).ok.body.json
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a service out of the gateway at once; its replicas are drained and stopped.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Service id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: InferenceCommand.columns) { api in
                try await api.stopInferenceService(path: .init(serviceId: id)).ok.body.json
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a service (its canaries first).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Service id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted inference service \(id).") { api in
                _ = try await api.deleteInferenceService(path: .init(serviceId: id)).noContent
            }
        }
    }

    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call a service through the gateway and print the answer as it arrives (a stream too).",
            discussion: """
                Example: aitip inference invoke SERVICE_ID --path /predict --data '{"inputs": [[1, 2]]}'
                The exit status is 1 when the answer's status is not 2xx.
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "Service id.") var id: String
        @Option(help: "Path below the service's endpoint.") var path: String = "/"
        @Option(help: "JSON body to POST (without it: GET); @FILE reads it from a file.") var data: String?
        @Option(help: "Header NAME=VALUE (repeatable), e.g. a canary's route header.") var header: [String] = []
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let relative = path.hasPrefix("/") ? path : "/" + path
                var request = HTTPClientRequest(url: "\(client.server)/serve/\(id)\(relative)")
                if let token = await client.tokens?.current() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
                for pair in header {
                    guard let equals = pair.firstIndex(of: "=") else { throw ValidationError("--header takes NAME=VALUE, got '\(pair)'") }
                    request.headers.add(name: String(pair[..<equals]), value: String(pair[pair.index(after: equals)...]))
                }
                if let data {
                    let bytes: Data
                    if data.hasPrefix("@") {
                        do { bytes = try Data(contentsOf: URL(fileURLWithPath: String(data.dropFirst()))) } catch {
                            throw ValidationError("Cannot read \(data.dropFirst()): \(error.localizedDescription)")
                        }
                    } else {
                        bytes = Data(data.utf8)
                    }
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(bytes)
                }
                let response: HTTPClientResponse
                do { response = try await HTTPClient.shared.execute(request, timeout: .seconds(300)) } catch {
                    throw CLIError(message: "Cannot reach \(client.server): \(error)", exitCode: 4)
                }
                for try await chunk in response.body { FileHandle.standardOutput.write(Data(buffer: chunk)) }
                guard (200..<300).contains(response.status.code) else {
                    throw CLIError(
                        message: "\n\(response.status.code) \(response.status.reasonPhrase)", exitCode: response.status.code == 401 ? 3 : 1)
                }
            }
        }
    }
}
