import ArgumentParser

@main
struct Aitip: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aitip",
        abstract: "aitip — one binary for the AI lifecycle: the server and its command-line client.",
        discussion: """
            Server:   aitip serve            (embedded SQLite and local disk by default)
                      aitip migrate          (apply or preview database migrations)
            Client:   aitip login --server http://127.0.0.1:8080
                      aitip whoami | orgs | projects | api-keys | datasets | jobs | inference | eval | test
            Clients read AITIP_SERVER and AITIP_TOKEN (an access token or an API key) when set.
            Exit codes: 0 success, 1 the server refused the request, 2 usage error, 3 not signed in, 4 server unreachable,
                      5 an evaluation's gate failed or a test run failed (eval run --wait, test run --wait).
            Shell completion: aitip --generate-completion-script bash|zsh|fish
            """,
        version: "0.1.0",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, AdminCommand.self, LoginCommand.self, LogoutCommand.self, WhoamiCommand.self,
            PasswordCommand.self,
            SessionsCommand.self, InvitationsCommand.self,
            OrgsCommand.self, ProjectsCommand.self, APIKeysCommand.self, ExperimentsCommand.self, RunsCommand.self, TracesCommand.self,
            ModelsCommand.self, JobsCommand.self, QueueCommand.self, ResourcesCommand.self, DatasetsCommand.self,
            InferenceCommand.self, EvalCommand.self, TestCommand.self, SimCommand.self, ReleaseCommand.self, WebhookCommand.self, AgentCommand.self,
            MCPCommand.self,
        ]
    )
}
