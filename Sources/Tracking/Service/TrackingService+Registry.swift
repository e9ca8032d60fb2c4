import AITIPCore
import Events
import Foundation
import Identity
import SQLKit
import Storage

/// The model registry (design §3 models / model_versions): named models per project, numbered versions with
/// lineage (version → run → training job → dataset version), stages, aliases and tags. Permissions: `release:*`.
/// Creating models and versions, and setting or deleting version tags and aliases, queue the project's webhooks
/// (MLflow 3's registry events) in the same transaction.
extension TrackingService {
    static func projectResource(_ scope: ProjectScope) -> Policy.Resource {
        Policy.Resource(kind: "Project", orgId: scope.orgId, projectId: scope.projectId)
    }

    static func registeredModel(named name: String, in scope: ProjectScope, on sql: any SQLDatabase) async throws -> RegisteredModel {
        guard
            let model = try await sql.select().column("*").from("models").where("project_id", .equal, scope.projectId)
                .where("name", .equal, name).row(RegisteredModel.self)
        else {
            throw AppError(.notFound, "Registered Model with name=\(name) not found")
        }
        return model
    }

    static func version(_ model: RegisteredModel, _ version: Int, on sql: any SQLDatabase) async throws -> ModelVersion {
        guard
            let found = try await sql.select().column("*").from("model_versions").where("model_id", .equal, model.id)
                .where("version", .equal, version).row(ModelVersion.self)
        else {
            throw AppError(.notFound, "Model Version (name=\(model.name), version=\(version)) not found")
        }
        return found
    }

    package func createRegisteredModel(
        named name: String?, description: String?, tags: [KeyValue], in scope: ProjectScope,
        caller: Caller
    ) async throws -> RegisteredModelDetail {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseWrite, on: Self.projectResource(scope))
        var validator = Validator()
        let name = validator.requireText(name, "name", maxLength: 256)
        _ = validator.optionalText(description, "description", maxLength: 10_000)
        Limits.checkTags(tags, into: &validator)
        try validator.finish()
        let now = clock.now()
        let model = RegisteredModel(
            id: IDGenerator.uuidV7(at: now), orgId: scope.orgId, projectId: scope.projectId, ownerId: principal.userId,
            name: name, description: description ?? "", framework: nil, modelFormat: nil, latestVersion: 0,
            metadata: "{}", createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
        return try await database.transaction { sql in
            if try await sql.select().column("id").from("models").where("project_id", .equal, scope.projectId).where("name", .equal, name).first()
                != nil
            {
                throw AppError.conflict("Registered Model (name=\(name)) already exists.")
            }
            try await sql.insert(model, into: "models")
            try await TrackingStore.upsert(tags, in: .modelTags, owner: model.id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: scope.orgId, action: "model.create", targetType: "model", targetId: model.id.lowercasedString)
            try await WebhookService.enqueue(
                "registered_model.created",
                data: ["name": .string(name), "tags": Self.tagObject(tags), "description": description.map(JSONValue.string) ?? .null],
                projectId: scope.projectId, nowMs: model.createdMs, on: sql)
            return RegisteredModelDetail(model: model, tags: tags, aliases: [], latestVersions: [])
        }
    }

    package func registeredModel(named name: String, in scope: ProjectScope, caller: Caller) async throws -> RegisteredModelDetail {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseRead, on: Self.projectResource(scope))
        return try await database.read { sql in
            try await Self.details([try await Self.registeredModel(named: name, in: scope, on: sql)], on: sql)[0]
        }
    }

    static func details(_ models: [RegisteredModel], on sql: any SQLDatabase) async throws -> [RegisteredModelDetail] {
        guard !models.isEmpty else { return [] }
        let ids = models.map(\.id)
        let tags = try await TrackingStore.pairs(in: .modelTags, owners: ids, on: sql)
        var aliases: [UUID: [(String, Int)]] = [:]
        for row in try await sql.select().columns("model_id", "alias", "version").from("model_aliases").where("model_id", .in, ids).orderBy("alias")
            .all()
        {
            aliases[try row.decode(column: "model_id", as: UUID.self), default: []].append(
                (try row.decode(column: "alias", as: String.self), try row.decode(column: "version", as: Int.self)))
        }
        // MLflow's latest_versions: the newest version in each stage.
        let versions = try await sql.select().column("*").from("model_versions").where("model_id", .in, ids)
            .orderBy("version", .descending).rows(ModelVersion.self)
        var latest: [UUID: [ModelVersion]] = [:]
        for version in versions where !(latest[version.modelId] ?? []).contains(where: { $0.currentStage == version.currentStage }) {
            latest[version.modelId, default: []].append(version)
        }
        return models.map { model in
            RegisteredModelDetail(
                model: model, tags: tags[model.id] ?? [], aliases: (aliases[model.id] ?? []).map { (alias: $0.0, version: $0.1) },
                latestVersions: (latest[model.id] ?? []).sorted { $0.version < $1.version })
        }
    }

    /// A model with every version, newest first, and the experiment of each version's run (lineage).
    package func modelWithVersions(named name: String, in scope: ProjectScope, caller: Caller) async throws
        -> (model: RegisteredModelDetail, versions: [ModelVersionDetail], experimentOfRun: [UUID: UUID])
    {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseRead, on: Self.projectResource(scope))
        return try await database.read { sql in
            let model = try await Self.registeredModel(named: name, in: scope, on: sql)
            let detail = try await Self.details([model], on: sql)[0]
            let versions = try await sql.select().column("*").from("model_versions").where("model_id", .equal, model.id)
                .orderBy("version", .descending).rows(ModelVersion.self)
            let runIds = versions.compactMap(\.runId)
            var experimentOfRun: [UUID: UUID] = [:]
            if !runIds.isEmpty {
                for row in try await sql.select().columns("id", "experiment_id").from("runs").where("id", .in, runIds).all() {
                    experimentOfRun[try row.decode(column: "id", as: UUID.self)] = try row.decode(column: "experiment_id", as: UUID.self)
                }
            }
            let withAliases = versions.map { version in
                ModelVersionDetail(
                    version: version, modelName: model.name,
                    aliases: detail.aliases.filter { $0.version == version.version }.map(\.alias))
            }
            return (detail, withAliases, experimentOfRun)
        }
    }

    package enum RegisteredModelChange: Sendable {
        case describe(String)
        case rename(String)
        case setTag(KeyValue)
        case deleteTag(String)
        case setAlias(String, version: Int)
        case deleteAlias(String)
        case delete
    }

    @discardableResult
    package func changeRegisteredModel(named name: String, _ change: RegisteredModelChange, in scope: ProjectScope, caller: Caller) async throws
        -> RegisteredModel
    {
        let principal = try caller.requirePrincipal()
        return try await database.transaction { sql in
            var model = try await Self.registeredModel(named: name, in: scope, on: sql)
            let permission: Permission = if case .delete = change { .releaseDelete } else { .releaseWrite }
            try Policy.authorize(principal, permission, on: model.policyResource)
            var action = "model.update"
            switch change {
            case .describe(let description):
                guard description.count <= 10_000 else { throw AppError.badRequest("description must be at most 10000 characters") }
                model.description = description
            case .rename(let newName):
                let trimmed = newName.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !trimmed.isEmpty, trimmed.count <= 256 else { throw AppError.badRequest("new_name must have 1 to 256 characters") }
                if trimmed != model.name,
                    try await sql.select().column("id").from("models").where("project_id", .equal, scope.projectId)
                        .where("name", .equal, trimmed).first() != nil
                {
                    throw AppError.conflict("Registered Model (name=\(trimmed)) already exists.")
                }
                model.name = trimmed
                action = "model.rename"
            case .setTag(let tag):
                var validator = Validator()
                Limits.checkTags([tag], into: &validator)
                try validator.finish()
                try await TrackingStore.upsert([tag], in: .modelTags, owner: model.id, on: sql)
            case .deleteTag(let key):
                try await sql.delete(from: "model_tags").where("model_id", .equal, model.id).where("key", .equal, key).run()
            case .setAlias(let alias, let version):
                try Self.checkAlias(alias)
                _ = try await Self.version(model, version, on: sql)
                try await sql.raw(
                    """
                    INSERT INTO model_aliases (model_id, alias, version) VALUES (\(bind: model.id), \(bind: alias), \(bind: version))
                    ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version
                    """
                ).run()
                action = "model.set_alias"
                try await WebhookService.enqueue(
                    "model_version_alias.created", data: ["name": .string(model.name), "alias": .string(alias), "version": .string(String(version))],
                    projectId: model.projectId, nowMs: clock.now().epochMilliseconds, on: sql)
            case .deleteAlias(let alias):
                try await sql.delete(from: "model_aliases").where("model_id", .equal, model.id).where("alias", .equal, alias).run()
                action = "model.delete_alias"
                try await WebhookService.enqueue(
                    "model_version_alias.deleted", data: ["name": .string(model.name), "alias": .string(alias)],
                    projectId: model.projectId, nowMs: clock.now().epochMilliseconds, on: sql)
            case .delete:
                try await sql.delete(from: "models").where("id", .equal, model.id).run()
                try await audit.record(
                    on: sql, caller, orgId: model.orgId, action: "model.delete", targetType: "model", targetId: model.id.lowercasedString)
                return model
            }
            model.updatedMs = clock.now().epochMilliseconds
            try await sql.update("models").set("name", to: model.name).set("description", to: model.description)
                .set("updated_ms", to: model.updatedMs).where("id", .equal, model.id).run()
            try await audit.record(on: sql, caller, orgId: model.orgId, action: action, targetType: "model", targetId: model.id.lowercasedString)
            return model
        }
    }

    static func tagObject(_ tags: [KeyValue]) -> JSONValue {
        .object(Dictionary(tags.map { ($0.key, JSONValue.string($0.value)) }, uniquingKeysWith: { $1 }))
    }

    static func checkAlias(_ alias: String) throws(AppError) {
        let valid =
            !alias.isEmpty && alias.count <= 255
            && alias.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_-".unicodeScalars.contains($0) }
        guard valid else { throw AppError.badRequest("Invalid alias '\(alias.prefix(100))': use letters, digits, '_' and '-'") }
        // "latest" and "v<N>" already mean something in models:/ URIs.
        if alias.lowercased() == "latest" || (alias.lowercased().hasPrefix("v") && Int(alias.dropFirst()) != nil) {
            throw AppError.badRequest("'\(alias)' is reserved and cannot be used as an alias")
        }
    }

    package func searchRegisteredModels(
        filter: String?, maxResults: Int, orderBy: [String], offset: Int, in scope: ProjectScope,
        caller: Caller
    ) async throws -> (models: [RegisteredModelDetail], nextOffset: Int?) {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseRead, on: Self.projectResource(scope))
        guard (1...1_000).contains(maxResults) else { throw AppError.badRequest("max_results must be between 1 and 1000, got \(maxResults)") }
        let parsed = try SearchFilter(filter)
        var query: SQLQueryString = "SELECT m.* FROM models m WHERE m.project_id = \(bind: scope.projectId)"
        for clause in parsed.clauses {
            switch (clause.entity, clause.key.lowercased()) {
            case (.attribute, "name"):
                query += " AND " + SearchSQL.compare("m.name", clause.comparator, clause.value)
            case (.tag, _) where clause.comparator == .notEqual:
                // A model without the tag is "not equal" too (the client hides prompts with tags.`mlflow.prompt.is_prompt` != 'true').
                var positive = clause
                positive.comparator = .equal
                query += " AND NOT " + SearchSQL.keyedExists(table: "model_tags", owner: "model_id", ownerColumn: "m.id", clause: positive)
            case (.tag, _):
                query += " AND " + SearchSQL.keyedExists(table: "model_tags", owner: "model_id", ownerColumn: "m.id", clause: clause)
            default:
                throw AppError.badRequest("Invalid registered model filter: only name and tags.<key> can be compared")
            }
        }
        var ordering: [SQLQueryString] = []
        for entry in orderBy {
            let order = try SearchOrder(entry)
            let direction = order.ascending ? "ASC" : "DESC"
            switch order.key.lowercased() {
            case "name": ordering.append("m.name \(unsafeRaw: direction)")
            case "timestamp", "creation_timestamp": ordering.append("m.created_ms \(unsafeRaw: direction)")
            case "last_updated_timestamp": ordering.append("m.updated_ms \(unsafeRaw: direction)")
            default:
                throw AppError.badRequest("Invalid order_by '\(entry)': registered models sort by name, creation_timestamp or last_updated_timestamp")
            }
        }
        ordering.append("m.name ASC")
        query += " ORDER BY " + ordering.joined(separator: ", ") + " LIMIT \(literal: maxResults + 1) OFFSET \(literal: offset)"
        let finalQuery = query
        return try await database.read { sql in
            let rows = try await sql.raw(finalQuery).all(decoding: RegisteredModel.self)
            return (
                try await Self.details(Array(rows.prefix(maxResults)), on: sql),
                rows.count > maxResults ? offset + maxResults : nil
            )
        }
    }

    // MARK: versions

    package struct VersionInput: Sendable {
        package var source: String?
        package var runId: UUID?
        package var loggedModelId: String?
        package var description: String?
        package var tags: [KeyValue]
        package var datasetVersionId: UUID?

        package init(source: String?, runId: UUID?, loggedModelId: String?, description: String?, tags: [KeyValue], datasetVersionId: UUID? = nil) {
            self.source = source
            self.runId = runId
            self.loggedModelId = loggedModelId
            self.description = description
            self.tags = tags
            self.datasetVersionId = datasetVersionId
        }
    }

    package func createModelVersion(of name: String, _ input: VersionInput, in scope: ProjectScope, caller: Caller) async throws -> ModelVersionDetail
    {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        let source = validator.requireText(input.source, "source", maxLength: 2_000)
        Limits.checkTags(input.tags, into: &validator)
        try validator.finish()
        let now = clock.now().epochMilliseconds
        return try await database.transaction { sql in
            var model = try await Self.registeredModel(named: name, in: scope, on: sql)
            try Policy.authorize(principal, .releaseWrite, on: model.policyResource)
            let lineage = try await Self.resolveSource(source, runId: input.runId, loggedModelId: input.loggedModelId, in: scope, on: sql)
            model.latestVersion += 1
            let version = ModelVersion(
                id: IDGenerator.uuidV7(at: clock.now()), modelId: model.id, version: model.latestVersion,
                description: input.description ?? "", source: source, storagePath: lineage.storagePath,
                runId: lineage.runId, loggedModelId: lineage.loggedModelId, trainingJobId: lineage.trainingJobId,
                datasetVersionId: input.datasetVersionId, status: "READY", currentStage: "None",
                userId: principal.username, tags: TagColumn.encode(input.tags), createdMs: now, updatedMs: now)
            try await sql.insert(version, into: "model_versions")
            try await sql.update("models").set("latest_version", to: model.latestVersion).set("updated_ms", to: now)
                .where("id", .equal, model.id).run()
            try await audit.record(
                on: sql, caller, orgId: model.orgId, action: "model_version.create", targetType: "model_version",
                targetId: version.id.lowercasedString, detail: "\(model.name) v\(version.version)")
            try await WebhookService.enqueue(
                "model_version.created",
                data: [
                    "name": .string(model.name), "version": .string(String(version.version)), "source": .string(source),
                    "run_id": version.runId.map { .string($0.lowercasedString) } ?? .null, "tags": Self.tagObject(input.tags),
                    "description": input.description.map(JSONValue.string) ?? .null,
                ], projectId: model.projectId, nowMs: now, on: sql)
            return ModelVersionDetail(version: version, modelName: model.name, aliases: [])
        }
    }

    /// Where a version's files are, from the URI it is registered from. Only URIs that resolve inside this server
    /// are accepted: registering `s3://…` or `http://…` would make the server (or its clients) fetch from anywhere.
    static func resolveSource(_ source: String, runId: UUID?, loggedModelId: String?, in scope: ProjectScope, on sql: any SQLDatabase) async throws
        -> (storagePath: String, runId: UUID?, loggedModelId: String?, trainingJobId: UUID?)
    {
        var runId = runId
        var loggedModelId = loggedModelId
        var storagePath: String
        if source.hasPrefix("models:/m-") {
            loggedModelId = String(source.dropFirst("models:/".count).prefix { $0 != "/" })
        }
        if let id = loggedModelId, source.hasPrefix("models:/m-") || !source.hasPrefix("runs:/") && !source.hasPrefix("mlflow-artifacts:/") {
            guard let model = try await sql.select().column("*").from("logged_models").where("id", .equal, id).row(LoggedModel.self),
                let experiment = try await TrackingStore.experiment(model.experimentId, on: sql), experiment.projectId == scope.projectId
            else {
                throw AppError.badRequest("Logged model '\(id)' does not exist in this project")
            }
            storagePath = model.artifactLocation
            runId = runId ?? model.sourceRunId
        } else if source.hasPrefix("runs:/") {
            let rest = source.dropFirst("runs:/".count)
            let runText = String(rest.prefix { $0 != "/" })
            guard let parsed = UUID(uuidString: runText) else { throw AppError.badRequest("source '\(source)' names no run of this server") }
            let subPath = rest.dropFirst(runText.count).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            guard let run = try await TrackingStore.run(parsed, on: sql), run.projectId == scope.projectId else {
                throw AppError.badRequest("Run '\(runText)' does not exist in this project")
            }
            runId = parsed
            storagePath = subPath.isEmpty ? run.artifactURI : "\(run.artifactURI)/\(subPath)"
        } else if source.hasPrefix("mlflow-artifacts:/") {
            // Downloads of the version read from `source`: it must not reach into another project's artifacts.
            let location = try ArtifactLocation(uri: source)
            guard let experiment = try await TrackingStore.experiment(location.experimentId, on: sql), experiment.projectId == scope.projectId else {
                throw AppError.badRequest("source '\(source)' is not in this project's artifacts")
            }
            storagePath = source
        } else {
            throw AppError.badRequest("source must be a models:/m-<id>, runs:/<run_id>/<path> or mlflow-artifacts:/ URI of this server")
        }
        var trainingJobId: UUID?
        if let runId {
            guard let run = try await TrackingStore.run(runId, on: sql), run.projectId == scope.projectId else {
                throw AppError.badRequest("Run '\(runId.lowercasedString)' does not exist in this project")
            }
            trainingJobId = run.trainingJobId
        }
        return (storagePath, runId, loggedModelId, trainingJobId)
    }

    package func modelVersion(of name: String, version: Int, in scope: ProjectScope, caller: Caller) async throws -> ModelVersionDetail {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseRead, on: Self.projectResource(scope))
        return try await modelVersion(named: name, version: version, alias: nil, inProject: scope)
    }

    package func modelVersion(of name: String, alias: String, in scope: ProjectScope, caller: Caller) async throws -> ModelVersionDetail {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseRead, on: Self.projectResource(scope))
        return try await modelVersion(named: name, version: nil, alias: alias, inProject: scope)
    }

    /// The registered versions made from a run, by model name and version (what the run page lists). The caller needs
    /// the registry's read permission in the run's project.
    package func modelVersions(ofRun runId: UUID, caller: Caller) async throws -> (versions: [ModelVersionDetail], run: Run) {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in
            guard let run = try await TrackingStore.run(runId, on: sql) else { throw AppError.notFound("Run with id=\(runId.lowercasedString)") }
            try Policy.authorize(principal, .releaseRead, on: run.policyResource)
            let models = try await sql.raw(
                "SELECT DISTINCT m.* FROM models m JOIN model_versions v ON v.model_id = m.id WHERE v.run_id = \(bind: runId) AND m.project_id = \(bind: run.projectId)"
            ).all(decoding: RegisteredModel.self)
            var found: [ModelVersionDetail] = []
            for model in models.sorted(by: { $0.name < $1.name }) {
                let versions = try await sql.select().column("*").from("model_versions").where("model_id", .equal, model.id)
                    .where("run_id", .equal, runId).orderBy("version").all(decoding: ModelVersion.self)
                for version in versions { found.append(try await Self.versionDetail(model, version, on: sql)) }
            }
            return (found, run)
        }
    }

    static func versionDetail(_ model: RegisteredModel, _ version: ModelVersion, on sql: any SQLDatabase) async throws -> ModelVersionDetail {
        let aliases = try await sql.select().column("alias").from("model_aliases").where("model_id", .equal, model.id)
            .where("version", .equal, version.version).orderBy("alias").all().map { try $0.decode(column: "alias", as: String.self) }
        return ModelVersionDetail(version: version, modelName: model.name, aliases: aliases)
    }

    package enum VersionChange: Sendable {
        case describe(String)
        case stage(String, archiveExisting: Bool)
        case setTag(KeyValue)
        case deleteTag(String)
        case delete
    }

    static let stages = ["None", "Staging", "Production", "Archived"]

    @discardableResult
    package func changeModelVersion(of name: String, version number: Int, _ change: VersionChange, in scope: ProjectScope, caller: Caller)
        async throws
        -> ModelVersionDetail
    {
        let principal = try caller.requirePrincipal()
        return try await database.transaction { sql in
            let model = try await Self.registeredModel(named: name, in: scope, on: sql)
            let permission: Permission = if case .delete = change { .releaseDelete } else { .releaseWrite }
            try Policy.authorize(principal, permission, on: model.policyResource)
            var version = try await Self.version(model, number, on: sql)
            var action = "model_version.update"
            switch change {
            case .describe(let description):
                guard description.count <= 10_000 else { throw AppError.badRequest("description must be at most 10000 characters") }
                version.description = description
            case .stage(let stage, let archiveExisting):
                guard let canonical = Self.stages.first(where: { $0.lowercased() == stage.lowercased() }) else {
                    throw AppError.badRequest("Invalid Model Version stage: \(stage). Value must be one of \(Self.stages.joined(separator: ", ")).")
                }
                if archiveExisting, canonical == "Staging" || canonical == "Production" {
                    try await sql.update("model_versions").set("current_stage", to: "Archived").set("updated_ms", to: clock.now().epochMilliseconds)
                        .where("model_id", .equal, model.id).where("current_stage", .equal, canonical).where("version", .notEqual, number).run()
                }
                version.currentStage = canonical
                action = "model_version.transition_stage"
            case .setTag(let tag):
                var validator = Validator()
                Limits.checkTags([tag], into: &validator)
                try validator.finish()
                version.tags = TagColumn.encode(TagColumn.decode(version.tags).filter { $0.key != tag.key } + [tag])
                try await WebhookService.enqueue(
                    "model_version_tag.set",
                    data: ["name": .string(model.name), "version": .string(String(number)), "key": .string(tag.key), "value": .string(tag.value)],
                    projectId: model.projectId, nowMs: clock.now().epochMilliseconds, on: sql)
            case .deleteTag(let key):
                version.tags = TagColumn.encode(TagColumn.decode(version.tags).filter { $0.key != key })
                try await WebhookService.enqueue(
                    "model_version_tag.deleted", data: ["name": .string(model.name), "version": .string(String(number)), "key": .string(key)],
                    projectId: model.projectId, nowMs: clock.now().epochMilliseconds, on: sql)
            case .delete:
                try await sql.delete(from: "model_aliases").where("model_id", .equal, model.id).where("version", .equal, number).run()
                try await sql.delete(from: "model_versions").where("id", .equal, version.id).run()
                try await audit.record(
                    on: sql, caller, orgId: model.orgId, action: "model_version.delete", targetType: "model_version",
                    targetId: version.id.lowercasedString, detail: "\(model.name) v\(number)")
                return ModelVersionDetail(version: version, modelName: model.name, aliases: [])
            }
            version.updatedMs = clock.now().epochMilliseconds
            try await sql.update("model_versions").set("description", to: version.description).set("current_stage", to: version.currentStage)
                .set("tags", to: version.tags).set("updated_ms", to: version.updatedMs).where("id", .equal, version.id).run()
            try await audit.record(
                on: sql, caller, orgId: model.orgId, action: action, targetType: "model_version",
                targetId: version.id.lowercasedString, detail: "\(model.name) v\(number)")
            return try await Self.versionDetail(model, version, on: sql)
        }
    }

    /// Versions of this project's models; the filter may compare `name`, `run_id` and `source_run_id`.
    package func searchModelVersions(filter: String?, maxResults: Int, offset: Int, in scope: ProjectScope, caller: Caller) async throws
        -> (versions: [ModelVersionDetail], nextOffset: Int?)
    {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseRead, on: Self.projectResource(scope))
        guard (1...200_000).contains(maxResults) else { throw AppError.badRequest("max_results must be between 1 and 200000") }
        let parsed = try SearchFilter(filter)
        var query: SQLQueryString =
            "SELECT v.* FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.project_id = \(bind: scope.projectId)"
        for clause in parsed.clauses {
            switch (clause.entity, clause.key.lowercased()) {
            case (.attribute, "name"): query += " AND " + SearchSQL.compare("m.name", clause.comparator, clause.value)
            case (.attribute, "run_id"), (.attribute, "source_run_id"):
                guard case .string(let text) = clause.value, let runId = UUID(uuidString: text) else { return ([], nil) }
                query += " AND v.run_id = \(bind: runId)"
            case (.attribute, "version_number"), (.attribute, "version"):
                guard case .number(let number) = clause.value else { throw AppError.badRequest("version_number compares with a number") }
                query += " AND " + SearchSQL.compare("v.version", clause.comparator, .number(number))
            default: throw AppError.badRequest("Invalid model version filter: only name, run_id and version_number can be compared")
            }
        }
        query += " ORDER BY m.name, v.version DESC LIMIT \(literal: maxResults + 1) OFFSET \(literal: offset)"
        let finalQuery = query
        return try await database.read { sql in
            let rows = try await sql.raw(finalQuery).all(decoding: ModelVersion.self)
            var result: [ModelVersionDetail] = []
            var models: [UUID: RegisteredModel] = [:]
            for version in rows.prefix(maxResults) {
                if models[version.modelId] == nil {
                    models[version.modelId] = try await sql.select().column("*").from("models").where("id", .equal, version.modelId).row(
                        RegisteredModel.self)
                }
                guard let model = models[version.modelId] else { continue }
                result.append(try await Self.versionDetail(model, version, on: sql))
            }
            return (result, rows.count > maxResults ? offset + maxResults : nil)
        }
    }
}
