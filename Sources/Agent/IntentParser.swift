import AITIPCore
import Foundation

/// A deterministic reading of a request in words (design §4.2 `agent/natural-language`): which tool it asks for, the
/// arguments it states, and the things it names that must be looked up (a dataset called "reviews" → its id). No model
/// is involved: the same words always read the same way, and what they do not say is asked for, never guessed.
package enum IntentParser {
    /// What a name refers to, and so where it is looked up.
    package enum Kind: String, Sendable, CaseIterable {
        case project, dataset, service, release, plan, job, environment, experiment
    }

    package struct Reference: Sendable, Equatable {
        package var kind: Kind
        package var name: String
    }

    package struct Reading: Sendable, Equatable {
        package var intent: String
        package var arguments: [String: JSONValue]
        /// Arguments to fill from a name: argument → what the name refers to.
        package var references: [String: Reference]
        /// A project named in the words ("in project vision"), for tools that take one.
        package var project: String?
    }

    /// One intent: the words that ask for it, and what to take from them.
    struct Rule: Sendable {
        var intent: String
        var patterns: [String]
        var take: @Sendable (Words, inout Reading) -> Void = { _, _ in }
    }

    /// The message, lower-cased, its quotes and the names after known nouns at hand.
    struct Words: Sendable {
        let text: String
        let original: String

        init(_ message: String) {
            original = message.trimmingCharacters(in: .whitespacesAndNewlines)
            text = original.lowercased().replacingOccurrences(of: #"[?!.,;]+(\s|$)"#, with: " ", options: .regularExpression)
                .replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression).trimmingCharacters(in: .whitespaces)
        }

        func matches(_ pattern: String) -> Bool { text.range(of: pattern, options: .regularExpression) != nil }

        /// The first capture of `pattern` in the text (or in the original words, keeping their case).
        func capture(_ pattern: String, keepingCase: Bool = false) -> String? {
            let source = keepingCase ? original : text
            guard let expression = try? NSRegularExpression(pattern: pattern, options: keepingCase ? [.caseInsensitive] : []),
                let match = expression.firstMatch(in: source, range: NSRange(source.startIndex..., in: source)), match.numberOfRanges > 1,
                let range = Range(match.range(at: 1), in: source)
            else { return nil }
            return String(source[range])
        }

        static let name = #"["']?([a-z0-9][a-z0-9_.\-]*)["']?"#

        /// The name after a noun: "dataset reviews", "the release called ranker", "service 'churn-api'".
        func named(_ nouns: String) -> String? {
            let name = capture(#"\b(?:"# + nouns + #")\s+(?:named\s+|called\s+)?"# + Self.name)
            return name.flatMap { Self.stopwords.contains($0) ? nil : $0 }
        }

        /// "named x" or "called x".
        var newName: String? { capture(#"\b(?:named|called)\s+"# + Self.name) }

        var number: Int? { capture(#"\b(\d+)\b"#).flatMap(Int.init) }

        /// `models:/name/3`, `models:/name@alias`, "model churn version 2", "model churn v2".
        var model: String? {
            if let uri = capture(#"(models:/[a-z0-9_.\-]+(?:/\d+|@[a-z0-9_\-]+))"#) { return uri }
            guard let name = capture(#"\bmodel\s+"# + Self.name), !Self.stopwords.contains(name) else { return nil }
            if let version = capture(#"\bmodel\s+[a-z0-9_.\-"']+\s+(?:version\s+|v)(\d+)\b"#) { return "models:/\(name)/\(version)" }
            if let alias = capture(#"\bmodel\s+[a-z0-9_.\-"']+\s*@([a-z0-9_\-]+)"#) { return "models:/\(name)@\(alias)" }
            return nil
        }

        static let stopwords: Set<String> = [
            "a", "an", "the", "to", "on", "in", "of", "for", "with", "and", "my", "our", "all", "version", "as", "at", "from", "it", "is",
        ]
    }

    static let gpuTypes = "a100|h100|h200|l4|l40s|t4|v100|rtx4090|a10g"

    /// The rules, most specific first; the first whose pattern matches decides the intent.
    static let rules: [Rule] = [
        // releases
        Rule(intent: "releases.rollback_release", patterns: [#"\broll ?back\b.*\brelease\b"#, #"\brelease\b.*\broll ?back\b"#]) { words, reading in
            reading.references["release_id"] = words.named("release").map { Reference(kind: .release, name: $0) }
        },
        Rule(intent: "releases.promote_release", patterns: [#"\bpromote\b.*\brelease\b"#]) { words, reading in
            reading.references["release_id"] = words.named("release").map { Reference(kind: .release, name: $0) }
        },
        Rule(intent: "releases.approve_release", patterns: [#"\bapprove\b.*\brelease\b"#]) { words, reading in
            reading.references["release_id"] = words.named("release").map { Reference(kind: .release, name: $0) }
        },
        Rule(intent: "releases.deploy_release", patterns: [#"\b(?:deploy|start|resume)\b.*\brelease\b\s+(?!of\b)"#]) { words, reading in
            reading.references["release_id"] = words.named("release").map { Reference(kind: .release, name: $0) }
        },
        Rule(intent: "releases.list_releases", patterns: [#"\b(?:list|show|what)\b.*\breleases\b"#]),
        Rule(intent: "release.create", patterns: [#"\bcreate\b.*\brelease\b"#, #"^release\b.*\bto\b"#]) { words, reading in
            if let name = words.newName ?? words.capture(#"^release\s+(?:model\s+)?"# + Words.name) { reading.arguments["name"] = .string(name) }
            if let version = words.capture(#"\bversion\s+([0-9][0-9a-z.\-]*)"#) { reading.arguments["version"] = .string(version) }
            reading.references["service_id"] = words.named("service").map { Reference(kind: .service, name: $0) }
        },
        // inference
        Rule(intent: "inference.scale_inference_service", patterns: [#"\bscale\b"#]) { words, reading in
            reading.references["service_id"] = words.named("service|deployment").map { Reference(kind: .service, name: $0) }
            if let replicas = words.capture(#"\b(\d+)\s+replicas?\b"#).flatMap(Int.init) ?? words.capture(#"\bto\s+(\d+)\b"#).flatMap(Int.init) {
                reading.arguments["replicas"] = .number(Double(replicas))
            }
        },
        Rule(intent: "inference.stop_inference_service", patterns: [#"\b(?:stop|shut down|take down)\b.*\bservice\b"#]) { words, reading in
            reading.references["service_id"] = words.named("service").map { Reference(kind: .service, name: $0) }
        },
        Rule(intent: "inference.get_inference_service_metrics", patterns: [#"\b(?:metrics|latency|traffic|requests per second)\b.*\bservice\b"#]) {
            words, reading in
            reading.references["service_id"] = words.named("service").map { Reference(kind: .service, name: $0) }
        },
        Rule(intent: "inference.deploy", patterns: [#"\b(?:deploy|serve)\b.*\bmodel\b"#, #"\bserve\b.*models:/"#]) { words, reading in
            if let model = words.model { reading.arguments["model"] = .string(model) }
            if let name = words.newName ?? words.capture(#"\bservice\s+(?:named\s+|called\s+)?"# + Words.name) {
                reading.arguments["name"] = .string(name)
            }
            if let replicas = words.capture(#"\b(\d+)\s+replicas?\b"#).flatMap(Int.init) { reading.arguments["replicas"] = .number(Double(replicas)) }
        },
        Rule(
            intent: "inference.list_inference_services",
            patterns: [#"\b(?:list|show|what)\b.*\b(?:inference )?services\b"#, #"\bwhat is being served\b"#]),
        // evaluation
        Rule(intent: "evaluation.list_benchmarks", patterns: [#"\bbenchmarks\b"#]),
        Rule(intent: "evaluation.list_evaluation_jobs", patterns: [#"\b(?:list|show)\b.*\bevaluations\b"#, #"\bevaluation jobs\b"#]),
        Rule(intent: "evaluation.run", patterns: [#"\bevaluate\b"#, #"\brun an? evaluation\b"#]) { words, reading in
            if let model = words.model { reading.arguments["model"] = .string(model) }
            if let benchmark = words.capture(#"\b(classification|regression|lm-eval|serving|custom)\b"#) {
                reading.arguments["benchmark"] = .string(benchmark)
            }
            reading.references["dataset"] = words.named("dataset").map { Reference(kind: .dataset, name: $0) }
        },
        // testing
        Rule(intent: "testing.list_test_executions", patterns: [#"\btest (?:executions|runs|results)\b"#]),
        Rule(intent: "testing.list_test_plans", patterns: [#"\b(?:list|show)\b.*\btest plans\b"#]),
        Rule(intent: "test.execute", patterns: [#"\brun\b.*\btests?\b"#, #"\bexecute\b.*\bplan\b"#]) { words, reading in
            reading.references["plan_id"] = (words.named("plan|test plan|suite") ?? words.capture(#"\brun (?:the )?"# + Words.name + #" tests?\b"#))
                .map { Reference(kind: .plan, name: $0) }
        },
        // simulation
        Rule(intent: "simulation.list_simulation_templates", patterns: [#"\bsimulation templates\b"#, #"\bsimulators? (?:are|is) there\b"#]),
        Rule(intent: "simulation.list_simulation_environments", patterns: [#"\b(?:list|show)\b.*\b(?:simulation )?environments\b"#]),
        Rule(intent: "simulation.create_simulation_run", patterns: [#"\bsimulat(?:e|ion)\b"#]) { words, reading in
            if let model = words.model { reading.arguments["model"] = .string(model) }
            reading.references["env_id"] = words.named("environment|env").map { Reference(kind: .environment, name: $0) }
            if let seeds = words.capture(#"\b(\d+)\s+seeds?\b"#).flatMap(Int.init) { reading.arguments["seed_count"] = .number(Double(seeds)) }
        },
        // training
        Rule(intent: "training.get_training_job_logs", patterns: [#"\blogs?\b.*\bjob\b"#, #"\bjob\b.*\blogs?\b"#]) { words, reading in
            reading.references["job_id"] = words.named("job").map { Reference(kind: .job, name: $0) }
        },
        Rule(intent: "training.stop_training_job", patterns: [#"\b(?:stop|cancel|kill)\b.*\bjob\b"#]) { words, reading in
            reading.references["job_id"] = words.named("job").map { Reference(kind: .job, name: $0) }
        },
        Rule(intent: "training.list_training_jobs", patterns: [#"\b(?:list|show|what)\b.*\b(?:training )?jobs\b"#]) { words, reading in
            if let status = words.capture(#"\b(running|queued|pending|failed|succeeded|cancelled)\b"#) {
                reading.arguments["status"] = .string(status)
            }
        },
        Rule(intent: "training.submit", patterns: [#"\b(?:train|fine-?tune|retrain)\b"#, #"\btraining job\b"#]) { words, reading in
            if let command = words.capture(
                #"\b(?:running|run|with command|command)\s+["']?(python3? [^"']+?|bash [^"']+?|sh [^"']+?)["']?$"#, keepingCase: true)
            {
                reading.arguments["entrypoint"] = .string(command)
            }
            if let name = words.newName { reading.arguments["name"] = .string(name) }
            var resources: [String: JSONValue] = [:]
            if let gpu = words.capture(#"\b("# + gpuTypes + #")\b"#) { resources["gpu_type"] = .string(gpu) }
            if let count = words.capture(#"\b(\d+)\s*(?:x\s*)?(?:(?:"# + gpuTypes + #")\s*)?gpus?\b"#).flatMap(Int.init) {
                resources["gpu_count"] = .number(Double(count))
            }
            if !resources.isEmpty { reading.arguments["resources"] = .object(resources) }
        },
        // resources
        Rule(intent: "resources.get_costs", patterns: [#"\b(?:costs?|spend|spent|bill)\b"#]),
        Rule(intent: "resources.get_usage", patterns: [#"\busage\b"#]),
        Rule(intent: "resources.list_gpu_nodes", patterns: [#"\bgpus?\b.*\b(?:available|free|nodes|have)\b"#, #"\bgpu nodes\b"#]),
        Rule(intent: "resources.list_quotas", patterns: [#"\bquotas?\b"#]),
        // models
        Rule(intent: "models.set_model_alias", patterns: [#"\balias\b"#]) { words, reading in
            reading.arguments["alias"] = (words.capture(#"\b([a-z0-9_\-]+)\s+alias\b"#) ?? words.capture(#"\balias\s+"# + Words.name)).map(
                JSONValue.string)
            reading.arguments["name"] = (words.capture(#"\bof\s+(?:model\s+)?"# + Words.name) ?? words.named("model")).map(JSONValue.string)
            if let version = words.capture(#"\bversion\s+(\d+)\b"#).flatMap(Int.init) { reading.arguments["version"] = .number(Double(version)) }
        },
        Rule(intent: "models.list_models", patterns: [#"\b(?:list|show|what)\b.*\bmodels\b"#]),
        Rule(intent: "models.get_model", patterns: [#"\b(?:show|describe|get)\b.*\bmodel\b"#]) { words, reading in
            reading.arguments["name"] = words.named("model").map(JSONValue.string)
        },
        // datasets
        Rule(intent: "datasets.get_dataset_lineage", patterns: [#"\blineage\b"#, #"\bwhere did\b.*\bcome from\b"#]) { words, reading in
            reading.references["dataset_id"] = words.named("dataset").map { Reference(kind: .dataset, name: $0) }
        },
        Rule(intent: "datasets.list_dataset_versions", patterns: [#"\bversions\b.*\bdataset\b"#, #"\bdataset\b.*\bversions\b"#]) { words, reading in
            reading.references["dataset_id"] = words.named("dataset").map { Reference(kind: .dataset, name: $0) }
        },
        Rule(intent: "datasets.create_dataset", patterns: [#"\b(?:create|make|add)\b.*\bdataset\b"#]) { words, reading in
            if let name = words.newName ?? words.named("dataset") { reading.arguments["name"] = .string(name) }
            if let format = words.capture(#"\b(csv|jsonl|json|parquet|tfrecord|arrow|images|audio|video|text|mixed)\b"#) {
                reading.arguments["format"] = .string(format)
            }
        },
        Rule(intent: "datasets.list_datasets", patterns: [#"\b(?:list|show|what)\b.*\bdatasets\b"#, #"^datasets$"#]),
        // experiments, projects, the rest
        Rule(intent: "experiments.list_experiments", patterns: [#"\bexperiments\b"#]),
        Rule(intent: "projects.create_project", patterns: [#"\b(?:create|make|start)\b.*\bproject\b"#]) { words, reading in
            if let name = words.newName ?? words.named("project") { reading.arguments["name"] = .string(name) }
        },
        Rule(intent: "projects.list_projects", patterns: [#"\bprojects\b"#]),
        Rule(intent: "webhooks.list_webhooks", patterns: [#"\bwebhooks\b"#]),
        Rule(intent: "api_keys.list_api_keys", patterns: [#"\bapi keys\b"#, #"\bkeys\b"#]),
        Rule(intent: "audit.list_audit", patterns: [#"\baudit\b"#, #"\bwho (?:did|changed)\b"#]),
        Rule(intent: "auth.get_me", patterns: [#"\bwho am i\b"#, #"\bmy account\b"#]),
    ]

    /// The reading of `message`, or nil when no rule recognises it.
    package static func read(_ message: String) -> Reading? {
        let words = Words(message)
        guard !words.text.isEmpty, let rule = rules.first(where: { rule in rule.patterns.contains(where: words.matches) }) else { return nil }
        var reading = Reading(intent: rule.intent, arguments: [:], references: [:], project: nil)
        rule.take(words, &reading)
        reading.arguments = reading.arguments.filter { if case .null = $0.value { false } else { true } }
        reading.project = words.capture(#"\bin (?:the )?project\s+"# + Words.name)
        return reading
    }
}
