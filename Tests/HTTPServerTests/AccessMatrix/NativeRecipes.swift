import AITIPAPI
import Crypto
import Foundation
import HTTPTypes
import Testing
import Yams

/// The API's operations as openapi.yaml declares them, and how to make a valid request for each.
enum NativeRecipes {
    static func operations() throws -> [AccessMatrix.Operation] {
        let spec = try #require(try Yams.load(yaml: try APISpec.yaml()) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: Any])
        var operations: [AccessMatrix.Operation] = []
        for (path, item) in paths {
            for (method, value) in item as? [String: Any] ?? [:] {
                guard let operation = value as? [String: Any], let id = operation["operationId"] as? String else { continue }
                let responses = (operation["responses"] as? [AnyHashable: Any] ?? [:]).keys.compactMap { Int("\($0)") }
                operations.append(
                    AccessMatrix.Operation(
                        name: id, method: HTTPRequest.Method(rawValue: method.uppercased())!, template: path,
                        isPublic: (operation["security"] as? [Any])?.isEmpty == true,
                        permission: operation["x-aitip-permission"] as? String ?? "public",
                        success: try #require(responses.filter { (200..<300).contains($0) }.min(), "\(id) declares no success"),
                        isMutation: method != "get"))
            }
        }
        return operations.sorted { $0.name < $1.name }
    }

    static let csv = Data("id,label\n1,cat\n2,dog\n".utf8)

    static func request(_ operation: AccessMatrix.Operation, _ who: AccessMatrix.Who, _ w: AccessWorld) async throws -> AccessMatrix.Request? {
        let project = w.projectA
        let unique = AccessWorld.unique
        switch operation.name {
        // system and sign-in (public)
        case "getHealth": return .init(path: "/healthz")
        case "getReadiness": return .init(path: "/readyz")
        case "register":
            let name = unique("r")
            return .init(path: "/api/v1/auth/register", body: .json(["username": name, "email": "\(name)@example.test", "password": "password-123"]))
        case "login":
            let person = try await w.spare()
            return .init(path: "/api/v1/auth/login", body: .json(["username": person.username, "password": person.password]))
        case "refreshToken":
            let person = try await w.spare()
            return .init(
                path: "/api/v1/auth/refresh", body: .json(["refresh_token": try await w.app.login(person.username, person.password).refresh]))

        // the caller's own account: a fresh session of the caller, so their usual one survives
        case "logout":
            // A key has no session of its own: it ends one of its user's by that session's refresh token.
            let own = try await w.freshSession(who)
            let session = try #require(own == nil ? try await w.freshSession(.owner) : own)
            return .init(path: "/api/v1/auth/logout", body: .json(["refresh_token": session.refresh]), token: own == nil ? .none : session.access)
        case "changePassword":
            // A person of the same standing whose password may change: the matrix's own people keep theirs.
            let person = try await w.disposable(who)
            return .init(
                path: "/api/v1/auth/password", body: .json(["current_password": person.password, "new_password": "changed-password-1"]),
                token: who.isKey || who == .anonymous ? .none : person.token, actor: person.id)
        case "listSessions": return .init(path: "/api/v1/auth/sessions")
        case "revokeSession":
            let ownSession = try await w.freshSession(who)
            let session = try #require(ownSession == nil ? try await w.freshSession(.owner) : ownSession)
            let sessions = try await w.app.call(.get, "/api/v1/auth/sessions", token: session.access).items
            let id = try #require(sessions.first { $0["current"] as? Bool == true }?["id"] as? String, "no current session in \(sessions)")
            return .init(path: "/api/v1/auth/sessions/\(id)")
        case "listMyInvitations": return .init(path: "/api/v1/invitations")
        case "acceptInvitation": return .init(path: "/api/v1/invitations/\(try await w.invitation(for: who))/accept")
        case "declineInvitation": return .init(path: "/api/v1/invitations/\(try await w.invitation(for: who))/decline")
        case "getMe": return .init(path: "/api/v1/auth/me")
        case "listApiKeys": return .init(path: "/api/v1/auth/api-keys")
        case "createApiKey":
            return .init(path: "/api/v1/auth/api-keys", body: .json(["name": "k", "org_id": w.orgA, "scopes": ["api_keys:write"]]))
        case "revokeApiKey":
            let key = try await w.create("/api/v1/auth/api-keys", ["name": "victim", "org_id": w.orgA, "scopes": ["projects:read"]])
            return .init(path: "/api/v1/auth/api-keys/\(key)")

        // organizations and members
        case "listOrgs": return .init(path: "/api/v1/orgs")
        case "createOrg": return .init(path: "/api/v1/orgs", body: .json(["name": unique("Org")]))
        case "getOrg": return .init(path: "/api/v1/orgs/\(w.orgA)")
        case "updateOrg": return .init(path: "/api/v1/orgs/\(w.orgA)", body: .json(["plan": "pro"]))
        case "deleteOrg":
            // A disposable organization in which the caller has the same standing as in A.
            let (org, slug, token) = try await w.disposableOrg(for: who, permission: operation.permission)
            return .init(path: "/api/v1/orgs/\(org)?confirm=\(slug)", token: token)
        case "listMembers": return .init(path: "/api/v1/orgs/\(w.orgA)/members")
        case "addMember":
            let name = unique("m")
            return .init(
                path: "/api/v1/orgs/\(w.orgA)/members",
                body: .json(["username": name, "email": "\(name)@example.test", "password": "password-123", "role": "viewer"]))
        case "listOrgInvitations": return .init(path: "/api/v1/orgs/\(w.orgA)/invitations")
        case "revokeInvitation":
            let outsider = try await w.app.newTenant()
            let invitation = try await w.create("/api/v1/orgs/\(w.orgA)/members", ["user_id": outsider.userId, "role": "viewer"])
            return .init(path: "/api/v1/orgs/\(w.orgA)/invitations/\(invitation)")
        case "updateMember":
            return .init(
                path: "/api/v1/orgs/\(w.orgA)/members/\(try await w.newPerson(in: w.orgA, role: "viewer").id)", body: .json(["role": "member"]))
        case "removeMember":
            return .init(path: "/api/v1/orgs/\(w.orgA)/members/\(try await w.newPerson(in: w.orgA, role: "viewer").id)")

        // projects and audit
        case "listProjects": return .init(path: "/api/v1/projects?org_id=\(w.orgA)")
        case "createProject": return .init(path: "/api/v1/projects", body: .json(["org_id": w.orgA, "name": unique("P")]))
        case "getProject": return .init(path: "/api/v1/projects/\(project)")
        case "updateProject": return .init(path: "/api/v1/projects/\(try await w.freshProject())", body: .json(["description": "changed"]))
        case "deleteProject": return .init(path: "/api/v1/projects/\(try await w.freshProject())")
        case "listAudit": return .init(path: "/api/v1/audit?org_id=\(w.orgA)")

        // tracking
        case "listExperiments": return .init(path: "/api/v1/projects/\(project)/experiments")
        case "createExperiment": return .init(path: "/api/v1/projects/\(project)/experiments", body: .json(["name": unique("E")]))
        case "getExperiment": return .init(path: "/api/v1/experiments/\(try await w.experiment())")
        case "updateExperiment": return .init(path: "/api/v1/experiments/\(try await w.freshExperiment())", body: .json(["description": "changed"]))
        case "deleteExperiment": return .init(path: "/api/v1/experiments/\(try await w.freshExperiment())")
        case "listRuns": return .init(path: "/api/v1/experiments/\(try await w.experiment())/runs")
        case "createRun": return .init(path: "/api/v1/experiments/\(try await w.experiment())/runs", body: .json([:]))
        case "getRun": return .init(path: "/api/v1/runs/\(try await w.run())")
        case "listRunModelVersions": return .init(path: "/api/v1/runs/\(try await w.run())/model-versions")
        case "listTraces": return .init(path: "/api/v1/experiments/\(try await w.experiment())/traces")
        case "getTrace": return .init(path: "/api/v1/traces/\(try await w.trace())")
        case "updateRun": return .init(path: "/api/v1/runs/\(try await w.freshRun())", body: .json(["name": "renamed"]))
        case "deleteRun": return .init(path: "/api/v1/runs/\(try await w.freshRun())")
        case "logRunData":
            return .init(
                path: "/api/v1/runs/\(try await w.freshRun())/log",
                body: .json(["metrics": [["key": "loss", "steps": [0, 1], "values": [0.5, 0.25]]]]))
        case "getMetricSeries": return .init(path: "/api/v1/runs/\(try await w.run())/metrics/loss")
        case "listModels": return .init(path: "/api/v1/projects/\(project)/models")
        case "getModel": return .init(path: "/api/v1/projects/\(project)/models/\(try await w.registeredModel())")
        case "updateModel":
            return .init(path: "/api/v1/projects/\(project)/models/\(try await w.registeredModel())", body: .json(["description": "d"]))
        case "setModelTag":
            return .init(path: "/api/v1/projects/\(project)/models/\(try await w.registeredModel())/tags/k", body: .json(["value": "v"]))
        case "deleteModelTag": return .init(path: "/api/v1/projects/\(project)/models/\(try await w.registeredModel())/tags/k")
        case "setModelAlias":
            return .init(path: "/api/v1/projects/\(project)/models/\(try await w.modelVersion().name)/aliases/champion", body: .json(["version": 1]))
        case "deleteModelAlias": return .init(path: "/api/v1/projects/\(project)/models/\(try await w.modelVersion().name)/aliases/champion")
        case "updateModelVersion":
            return .init(path: "/api/v1/projects/\(project)/models/\(try await w.modelVersion().name)/versions/1", body: .json(["description": "d"]))
        case "setModelVersionTag":
            return .init(path: "/api/v1/projects/\(project)/models/\(try await w.modelVersion().name)/versions/1/tags/k", body: .json(["value": "v"]))
        case "deleteModelVersionTag": return .init(path: "/api/v1/projects/\(project)/models/\(try await w.modelVersion().name)/versions/1/tags/k")

        // training and resources
        case "listTrainingJobs": return .init(path: "/api/v1/training/jobs?project_id=\(project)")
        case "createTrainingJob":
            return .init(path: "/api/v1/training/jobs", body: .json(["project_id": project, "name": "matrix", "entrypoint": "true"]))
        case "uploadTrainingCode":
            return .init(
                path: "/api/v1/training/code?project_id=\(project)",
                body: .bytes(try CodeArchiveFixture.make(["train.sh": "echo \(UUID())"]), contentType: "application/gzip"))
        case "getTrainingJob": return .init(path: "/api/v1/training/jobs/\(try await w.job())")
        case "deleteTrainingJob": return .init(path: "/api/v1/training/jobs/\(try await w.freshJob(stopped: true))")
        case "stopTrainingJob": return .init(path: "/api/v1/training/jobs/\(try await w.freshJob())/stop")
        case "listTrainingJobEvents": return .init(path: "/api/v1/training/jobs/\(try await w.job())/events")
        case "getTrainingJobLogs": return .init(path: "/api/v1/training/jobs/\(try await w.job())/logs")
        case "getTrainingJobMetrics": return .init(path: "/api/v1/training/jobs/\(try await w.job())/metrics")
        case "listGpuNodes": return .init(path: "/api/v1/resources/gpu")
        case "updateGpuNode": return .init(path: "/api/v1/resources/gpu/\(try await w.gpuNode())", body: .json(["status": "available"]))
        case "listQuotas": return .init(path: "/api/v1/resources/quota?org_id=\(w.orgA)")
        case "setQuota": return .init(path: "/api/v1/resources/quota", body: .json(["org_id": w.orgA, "max_concurrent_jobs": 5]))
        case "getUsage": return .init(path: "/api/v1/resources/usage?org_id=\(w.orgA)")
        case "getCosts": return .init(path: "/api/v1/resources/costs?org_id=\(w.orgA)")

        // evaluation
        case "listBenchmarks": return .init(path: "/api/v1/evaluation/benchmarks")
        case "listEvaluationJobs": return .init(path: "/api/v1/evaluation/jobs?project_id=\(project)")
        case "createEvaluationJob": return .init(path: "/api/v1/evaluation/jobs", body: .json(try await w.evaluationBody()))
        case "getEvaluationJob": return .init(path: "/api/v1/evaluation/jobs/\(try await w.evaluation())")
        case "deleteEvaluationJob": return .init(path: "/api/v1/evaluation/jobs/\(try await w.freshEvaluation(stopped: true))")
        case "stopEvaluationJob": return .init(path: "/api/v1/evaluation/jobs/\(try await w.freshEvaluation())/stop")
        case "getEvaluationResults": return .init(path: "/api/v1/evaluation/jobs/\(try await w.evaluation())/results")
        case "getEvaluationReport": return .init(path: "/api/v1/evaluation/jobs/\(try await w.evaluation())/report?format=html")
        case "getEvaluationJobLogs": return .init(path: "/api/v1/evaluation/jobs/\(try await w.evaluation())/logs")
        // simulation
        case "listSimulationTemplates": return .init(path: "/api/v1/simulation/templates")
        case "listSimulationEnvironments": return .init(path: "/api/v1/simulation/environments?project_id=\(project)")
        case "createSimulationEnvironment":
            return .init(path: "/api/v1/simulation/environments", body: .json(try await w.simulationEnvironmentBody()))
        case "getSimulationEnvironment": return .init(path: "/api/v1/simulation/environments/\(try await w.simulationEnvironment())")
        case "deleteSimulationEnvironment": return .init(path: "/api/v1/simulation/environments/\(try await w.freshSimulationEnvironment())")
        case "startSimulationEnvironment": return .init(path: "/api/v1/simulation/environments/\(try await w.simulationEnvironment())/start")
        case "stopSimulationEnvironment": return .init(path: "/api/v1/simulation/environments/\(try await w.freshSimulationEnvironment())/stop")
        case "listSimulationRuns": return .init(path: "/api/v1/simulation/environments/\(try await w.simulationEnvironment())/runs")
        case "createSimulationRun":
            return .init(path: "/api/v1/simulation/environments/\(try await w.simulationEnvironment())/runs", body: .json(["seed_count": 1]))
        case "getSimulationRun": return .init(path: "/api/v1/simulation/runs/\(try await w.simulationRun())")
        case "getSimulationReport": return .init(path: "/api/v1/simulation/runs/\(try await w.simulationRun())/report?format=html")
        case "getSimulationScenarioLogs": return .init(path: "/api/v1/simulation/runs/\(try await w.simulationRun())/scenarios/nominal/logs")
        case "getSimulationScenarioFrames": return .init(path: "/api/v1/simulation/runs/\(try await w.simulationRun())/scenarios/nominal/frames")
        // releases
        case "listReleases": return .init(path: "/api/v1/releases?project_id=\(project)")
        case "createRelease": return .init(path: "/api/v1/releases", body: .json(try await w.releaseBody()))
        case "getRelease": return .init(path: "/api/v1/releases/\(try await w.release())")
        case "updateRelease": return .init(path: "/api/v1/releases/\(try await w.release())", body: .json(["changelog": "changed"]))
        case "deleteRelease": return .init(path: "/api/v1/releases/\(try await w.freshRelease())")
        case "approveRelease": return .init(path: "/api/v1/releases/\(try await w.freshRelease())/approve", body: .json(["comment": "ok"]))
        case "deployRelease": return .init(path: "/api/v1/releases/\(try await w.freshRelease(approvals: 0))/deploy")
        case "promoteRelease": return .init(path: "/api/v1/releases/\(try await w.freshRelease(approvals: 0, deployed: true))/promote")
        case "rollbackRelease":
            return .init(path: "/api/v1/releases/\(try await w.freshRelease(approvals: 0, deployed: true))/rollback", body: .json(["reason": "test"]))
        // webhooks (the same subscriptions as MLflow's webhook API; aimed at localhost, as there)
        case "listWebhooks": return .init(path: "/api/v1/projects/\(project)/webhooks?limit=5")
        case "createWebhook":
            return .init(
                path: "/api/v1/projects/\(project)/webhooks",
                body: .json(["name": unique("wh"), "url": "http://localhost:9/hook", "events": ["release.rolled_back", "model_version.created"]]))
        case "getWebhook": return .init(path: "/api/v1/webhooks/\(try await w.webhook())")
        case "updateWebhook": return .init(path: "/api/v1/webhooks/\(try await w.webhook())", body: .json(["description": unique("d")]))
        case "deleteWebhook": return .init(path: "/api/v1/webhooks/\(try await w.freshWebhook())")
        case "testWebhook": return .init(path: "/api/v1/webhooks/\(try await w.webhook())/test", body: .json(["event": "release.promoted"]))
        case "listWebhookDeliveries": return .init(path: "/api/v1/webhooks/\(try await w.webhook())/deliveries")
        // agent
        case "listAgentTools": return .init(path: "/api/v1/agent/tools?area=releases")
        case "executeAgentTool": return .init(path: "/api/v1/agent/execute", body: .json(["tool": "projects.list_projects", "params": ["limit": 1]]))
        case "planAgentRequest": return .init(path: "/api/v1/agent/natural-language", body: .json(["message": "list my projects"]))
        case "listAgentExecutions": return .init(path: "/api/v1/agent/executions?limit=5")
        case "getAgentExecution": return .init(path: "/api/v1/agent/executions/\(try await w.agentExecution())")
        case "serveAgentMCP":
            let call: [String: Any] = ["name": "projects_list_projects", "arguments": ["limit": 1]]
            return .init(path: "/api/v1/agent/mcp", body: .json(["jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call]))
        case "listAgentApprovals": return .init(path: "/api/v1/agent/approvals?limit=5")
        case "approveAgentExecution":
            return .init(path: "/api/v1/agent/executions/\(try await w.pendingAgentExecution())/approve", body: .json(["comment": "ok"]))
        case "rejectAgentExecution":
            return .init(path: "/api/v1/agent/executions/\(try await w.pendingAgentExecution())/reject", body: .json(["comment": "no"]))
        // test plans
        case "listTestPlans": return .init(path: "/api/v1/test/plans?project_id=\(project)")
        case "createTestPlan":
            return .init(path: "/api/v1/test/plans", body: .json(["project_id": project, "name": unique("plan"), "config": ["command": "true"]]))
        case "getTestPlan": return .init(path: "/api/v1/test/plans/\(try await w.testPlan())")
        case "updateTestPlan": return .init(path: "/api/v1/test/plans/\(try await w.testPlan())", body: .json(["description": "changed"]))
        case "deleteTestPlan": return .init(path: "/api/v1/test/plans/\(try await w.freshTestPlan())")
        case "executeTestPlan": return .init(path: "/api/v1/test/plans/\(try await w.testPlan())/execute")
        case "rotateTestPlanWebhook", "removeTestPlanWebhook": return .init(path: "/api/v1/test/plans/\(try await w.testPlan())/webhook")
        case "triggerTestPlan":
            // A plan of its own each time, so that each caller's signed delivery starts a run (rather than joining one).
            let plan = try await w.freshTestPlan()
            let secret = try await w.create("/api/v1/test/plans/\(plan)/webhook", [:], field: "secret")
            let body = Data(#"{"ref": "refs/heads/main"}"#.utf8)
            let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
            return .init(
                path: "/api/v1/test/plans/\(plan)/trigger", body: .bytes(body, contentType: "application/json"),
                headers: [HTTPField.Name("X-Hub-Signature-256")!: "sha256=" + mac.map { String(format: "%02x", $0) }.joined()])
        case "reportTestResults":
            return .init(
                path: "/api/v1/test/plans/\(try await w.testPlan())/results",
                body: .json(["junit_xml": "<testsuite name='m'><testcase classname='c' name='ok'/></testsuite>"]))
        case "listTestCaseHistory": return .init(path: "/api/v1/test/plans/\(try await w.testPlan())/cases")
        case "listTestExecutions": return .init(path: "/api/v1/test/executions?plan_id=\(try await w.testPlan())")
        case "getTestExecution": return .init(path: "/api/v1/test/executions/\(try await w.testExecution())")
        case "stopTestExecution": return .init(path: "/api/v1/test/executions/\(try await w.freshTestExecution())/stop")
        case "getTestExecutionResults": return .init(path: "/api/v1/test/executions/\(try await w.testExecution())/results")
        case "getTestExecutionReport": return .init(path: "/api/v1/test/executions/\(try await w.testExecution())/report?format=html")
        case "getTestExecutionLogs": return .init(path: "/api/v1/test/executions/\(try await w.testExecution())/logs")
        // inference
        case "listInferenceServices": return .init(path: "/api/v1/inference/services?project_id=\(project)")
        case "createInferenceService":
            return .init(path: "/api/v1/inference/services", body: .json(try await w.inferenceServiceBody()))
        case "getInferenceService": return .init(path: "/api/v1/inference/services/\(try await w.inferenceService())")
        case "updateInferenceService":
            return .init(path: "/api/v1/inference/services/\(try await w.inferenceService())", body: .json(["description": "changed"]))
        case "deleteInferenceService": return .init(path: "/api/v1/inference/services/\(try await w.freshInferenceService())")
        case "startInferenceService": return .init(path: "/api/v1/inference/services/\(try await w.inferenceService())/start")
        case "stopInferenceService": return .init(path: "/api/v1/inference/services/\(try await w.inferenceService())/stop")
        case "scaleInferenceService":
            return .init(path: "/api/v1/inference/services/\(try await w.inferenceService())/scale", body: .json(["replicas": 2]))
        case "getInferenceServiceLogs":
            return .init(path: "/api/v1/inference/services/\(try await w.inferenceService())/logs")
        case "getInferenceServiceMetrics": return .init(path: "/api/v1/inference/services/\(try await w.inferenceService())/metrics")

        // datasets
        case "listDatasets": return .init(path: "/api/v1/projects/\(project)/datasets")
        case "createDataset": return .init(path: "/api/v1/projects/\(project)/datasets", body: .json(["name": unique("d"), "format": "csv"]))
        case "getDataset": return .init(path: "/api/v1/datasets/\(try await w.dataset())")
        case "updateDataset": return .init(path: "/api/v1/datasets/\(try await w.dataset())", body: .json(["description": "changed"]))
        case "deleteDataset": return .init(path: "/api/v1/datasets/\(try await w.freshDataset())")
        case "listDatasetVersions": return .init(path: "/api/v1/datasets/\(try await w.dataset())/versions")
        case "createDatasetVersion":
            return .init(
                path: "/api/v1/datasets/\(try await w.dataset())/versions",
                body: .json(["version": unique("v"), "files": [["path": "data.csv", "sha256": sha256(csv), "size_bytes": csv.count]]]))
        case "getDatasetVersion": return .init(path: "/api/v1/datasets/\(try await w.dataset())/versions/v1")
        case "listDatasetFiles": return .init(path: "/api/v1/datasets/\(try await w.dataset())/versions/v1/files")
        case "downloadDatasetVersion": return .init(path: "/api/v1/datasets/\(try await w.dataset())/versions/v1/download")
        case "getDatasetFileURL": return .init(path: "/api/v1/datasets/\(try await w.dataset())/versions/v1/url?path=data.csv")
        case "startDatasetUpload":
            let content = Data(UUID().uuidString.utf8)
            return .init(
                path: "/api/v1/datasets/\(try await w.dataset())/uploads", body: .json(["sha256": sha256(content), "size_bytes": content.count]))
        case "getDatasetUpload": return .init(path: "/api/v1/dataset-uploads/\(try await w.shared("upload") { try await w.freshUpload().id })")
        case "appendDatasetUpload":
            let upload = try await w.freshUpload()
            return .init(
                path: "/api/v1/dataset-uploads/\(upload.id)", body: .bytes(upload.content, contentType: "application/octet-stream"),
                headers: [HTTPField.Name("Upload-Offset")!: "0"])
        case "cancelDatasetUpload": return .init(path: "/api/v1/dataset-uploads/\(try await w.freshUpload().id)")
        case "getDatasetLineage": return .init(path: "/api/v1/datasets/\(try await w.dataset())/lineage?version=v1")
        case "createLineageEdge":
            // Both ends datasets, so data:write is the whole of what it needs (x-aitip-permission-note).
            let dataset = try await w.dataset()
            let source = try await w.shared("version") {
                try #require(try await w.app.call(.get, "/api/v1/datasets/\(dataset)/versions/v1", token: w.ownerToken).string("id"))
            }
            let target = try await w.create(
                "/api/v1/datasets/\(dataset)/versions",
                ["version": unique("v"), "files": [["path": "data.csv", "sha256": sha256(csv), "size_bytes": csv.count]]])
            return .init(
                path: "/api/v1/lineage/edges",
                body: .json([
                    "source": ["kind": "dataset_version", "id": source], "target": ["kind": "dataset_version", "id": target],
                    "relation": "derived_from",
                ]))
        case "listAnnotations": return .init(path: "/api/v1/datasets/\(try await w.dataset())/annotations")
        case "createAnnotation":
            return .init(
                path: "/api/v1/datasets/\(try await w.dataset())/annotations",
                body: .json(["task_type": "classification", "version": "v1", "item": "data.csv"]))
        case "updateAnnotation":
            let dataset = try await w.dataset()
            let annotation = try await w.create(
                "/api/v1/datasets/\(dataset)/annotations", ["task_type": "classification", "version": "v1", "item": "data.csv"])
            return .init(path: "/api/v1/datasets/\(dataset)/annotations/\(annotation)", body: .json(["status": "in_progress"]))
        case "exportAnnotations":
            let dataset = try await w.dataset()
            try await w.create(
                "/api/v1/datasets/\(dataset)/annotations",
                ["task_type": "classification", "version": "v1", "item": "data.csv", "status": "completed", "annotations": ["label": "cat"]])
            return .init(path: "/api/v1/datasets/\(dataset)/annotations/export", body: .json(["version": unique("labelled")]))
        default:
            return nil
        }
    }
}
