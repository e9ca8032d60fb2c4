import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation
import OpenAPIRuntime

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Test plans: create one (a command, its code, a cron schedule), run it, report results from CI, read executions and flaky cases.",
        subcommands: [
            Create.self, Plans.self, Get.self, Delete.self, Webhook.self, Run.self, Report.self, Executions.self, Results.self, Cases.self, Pdf.self,
        ])

    static let planColumns = ["id", "name", "test_type", "schedule", "next_run_at"]
    static let executionColumns = [
        "id", "trigger_type", "status", "total_cases", "passed_cases", "failed_cases", "skipped_cases", "coverage_percent", "result_error",
    ]

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a test plan.",
            discussion: """
                Example:
                  aitip test create --project P --name unit --code examples/testsuite \\
                    --command "python3 -m pytest --junitxml=junit.xml" --schedule "0 3 * * 1-5"
                The command runs in the code directory and writes a JUnit XML report (--junit, default junit.xml) and,
                optionally, Cobertura XML coverage (--coverage). The schedule is cron in UTC.
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Plan name.") var name: String
        @Option(help: "Shell command run in the code directory.") var command: String
        @Option(help: "Code directory to package and upload.") var code: String?
        @Option(help: "unit, integration, e2e or regression.") var type = "unit"
        @Option(help: "Cron schedule (UTC), e.g. '0 3 * * 1-5' or @daily.") var schedule: String?
        @Option(help: "Where the command writes JUnit XML.") var junit: String?
        @Option(help: "Where the command writes Cobertura XML coverage.") var coverage: String?
        @Option(help: "Environment variable NAME=VALUE (repeatable).") var env: [String] = []
        @Option(help: "Description.") var description: String?

        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let environment = try CodePackage.environment(env)
                let archive = try await code.asyncMap { try await CodePackage.upload($0, project: project, client: client) }
                guard let testType = Components.Schemas.TestPlanCreate.TestTypePayload(rawValue: type) else {
                    throw ValidationError("--type is unit, integration, e2e or regression")
                }
                let body = Components.Schemas.TestPlanCreate(
                    projectId: project, name: name, description: description, testType: testType,
                    config: .init(
                        command: command, codeArchive: archive, env: environment.isEmpty ? nil : .init(additionalProperties: environment),
                        junitPath: junit,
                        coveragePath: coverage), schedule: schedule)
                let created = try await client.api.createTestPlan(body: .json(body)).created.body.json
                try Output.show(created, format: options.output, columns: TestCommand.planColumns)
            }
        }
    }

    struct Plans: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A project's test plans.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String
        func run() async throws {
            try await ClientCall.show(options, columns: TestCommand.planColumns) { api in
                try await api.listTestPlans(query: .init(projectId: project, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a test plan, or an execution with --execution.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Plan id (or execution id with --execution).") var id: String
        @Flag(help: "The id is an execution's.") var execution = false
        func run() async throws {
            if execution {
                try await ClientCall.show(options) { api in try await api.getTestExecution(path: .init(executionId: id)).ok.body.json }
            } else {
                try await ClientCall.show(options) { api in try await api.getTestPlan(path: .init(planId: id)).ok.body.json }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a test plan with its executions.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Plan id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted test plan \(id).") { api in
                _ = try await api.deleteTestPlan(path: .init(planId: id)).noContent
            }
        }
    }

    struct Webhook: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a plan a webhook (a new secret; an old one stops working), or turn it off with --remove.",
            discussion: """
                Prints the URL to give a forge or CI, and the secret, once. Deliveries carry
                X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body under the secret> (GitHub, Gitea) or
                X-Gitlab-Token: <secret> (GitLab); no aitip credential. Each runs the plan, unless a run a delivery
                started is still going. Example:
                  body='{"ref":"main"}'; sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "$SECRET" | cut -d' ' -f2)
                  curl -X POST "$AITIP_SERVER$URL" -H "X-Hub-Signature-256: sha256=$sig" -d "$body"
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "Plan id.") var id: String
        @Flag(help: "Turn the webhook off.") var remove = false
        func run() async throws {
            if remove {
                try await ClientCall.perform(options, done: "Webhook of test plan \(id) removed.") { api in
                    _ = try await api.removeTestPlanWebhook(path: .init(planId: id)).noContent
                }
            } else {
                try await ClientCall.show(options, columns: ["url", "secret"]) { api in
                    try await api.rotateTestPlanWebhook(path: .init(planId: id)).created.body.json
                }
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a plan now; with --wait, wait for its results (exit status 5 when a case failed or there are no results).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Plan id.") var id: String
        @Flag(help: "Wait for the results.") var wait = false
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                var execution = try await client.api.executeTestPlan(path: .init(planId: id)).created.body.json
                while wait, execution.status == .pending || execution.status == .running {
                    try await Task.sleep(for: .seconds(1))
                    execution = try await client.api.getTestExecution(path: .init(executionId: execution.id)).ok.body.json
                }
                try Output.show(execution, format: options.output, columns: TestCommand.executionColumns)
                if wait, execution.passed != true { throw ExitCode(5) }
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record an execution that ran elsewhere (CI) from its JUnit XML (and Cobertura XML coverage).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Plan id.") var id: String
        @Option(help: "JUnit XML file.") var junit: String
        @Option(help: "Cobertura XML file.") var coverage: String?
        func run() async throws {
            try await runClient {
                let junitText = try String(contentsOfFile: junit, encoding: .utf8)
                let coverageText = try coverage.map { try String(contentsOfFile: $0, encoding: .utf8) }
                let client = try APIClient(server: options.server)
                let execution = try await client.api.reportTestResults(
                    path: .init(planId: id), body: .json(.init(junitXml: junitText, coverageXml: coverageText))
                ).created.body.json
                try Output.show(execution, format: options.output, columns: TestCommand.executionColumns)
            }
        }
    }

    struct Executions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A plan's executions, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Argument(help: "Plan id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: TestCommand.executionColumns) { api in
                try await api.listTestExecutions(query: .init(planId: id, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Results: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An execution's cases with status, duration and failure message.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Execution id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: ["classname", "name", "status", "duration_ms", "message"]) { api in
                try await api.getTestExecutionResults(path: .init(executionId: id)).ok.body.json
            }
        }
    }

    struct Cases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each case of a plan over its recent executions; --flaky for the flaky ones.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Plan id.") var id: String
        @Flag(help: "Only flaky cases.") var flaky = false
        func run() async throws {
            try await ClientCall.show(options, columns: ["classname", "name", "flaky", "flips"]) { api in
                try await api.listTestCaseHistory(path: .init(planId: id), query: .init(flaky: flaky ? true : nil)).ok.body.json
            }
        }
    }

    struct Pdf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "report-file", abstract: "Save an execution's report as PDF (default) or HTML.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Execution id.") var id: String
        @Option(help: "pdf or html.") var format = "pdf"
        @Option(help: "File to write (default: test-execution-ID.pdf or .html).") var out: String?
        func run() async throws {
            try await runClient {
                guard let wanted = Operations.GetTestExecutionReport.Input.Query.FormatPayload(rawValue: format) else {
                    throw ValidationError("--format is pdf or html")
                }
                let client = try APIClient(server: options.server)
                let answer = try await client.transfers.getTestExecutionReport(path: .init(executionId: id), query: .init(format: wanted)).ok.body
                switch answer {
                case .pdf(let body), .html(let body): try await ReportFile.save(body, to: out ?? "test-execution-\(id).\(format)")
                }
            }
        }
    }
}
