"""The agent API against the real server: a training job submitted through agent/execute asynchronously — a costly
tool, so confirmed first — with its outcome POSTed, signed, to a real receiver, and links to follow the job."""
import json

import requests
from conftest import unique
from receiver import Receiver, signature


def test_a_training_job_submitted_by_an_agent_is_confirmed_run_in_the_background_and_called_back(api):
    base, headers = api["base"], api["headers"]
    receiver = Receiver()
    params = {"project_id": api["project"], "name": unique("agent-job"), "entrypoint": "echo trained by an agent",
              "resources": {"cpu": 0.2, "memory_mib": 128}}
    asked = requests.post(f"{base}/api/v1/agent/execute", headers=headers, json={
        "tool": "training.submit", "params": params, "async": True, "callback_url": f"{receiver.base}/agent", "callback_secret": "cb-secret"})
    assert asked.status_code == 200 and asked.json()["status"] == "awaiting_confirmation", asked.text
    assert asked.json()["risk"] == "costly" and asked.json()["confirmation_token"]
    confirmed = requests.post(f"{base}/api/v1/agent/execute", headers=headers, json={
        "tool": "training.submit", "params": params, "confirmation_token": asked.json()["confirmation_token"]})
    assert confirmed.status_code == 200 and confirmed.json()["status"] in ("queued", "running", "succeeded"), confirmed.text
    assert confirmed.json()["execution_id"] == asked.json()["execution_id"]

    _, sent_headers, body = receiver.wait_for("/agent")[0]
    assert sent_headers["x-mlflow-signature"] == signature("cb-secret", sent_headers, body)
    callback = json.loads(body)
    assert (callback["entity"], callback["action"]) == ("agent_execution", "succeeded"), callback
    job_id = callback["data"]["result"]["id"]
    assert callback["data"]["http_status"] == 201 and callback["data"]["tool"] == "training.submit"

    execution = requests.get(f"{base}/api/v1/agent/executions/{asked.json()['execution_id']}", headers=headers).json()
    assert execution["status"] == "succeeded" and execution["callback_status"].startswith("delivered"), execution
    links = execution["monitoring"]
    assert links["resource_url"] == f"/api/v1/training/jobs/{job_id}" and links["logs_url"] == f"/api/v1/training/jobs/{job_id}/logs", links
    job = requests.get(base + links["resource_url"], headers=headers)
    assert job.status_code == 200 and job.json()["name"] == params["name"], job.text
    receiver.server.shutdown()


def test_an_mcp_client_lists_and_calls_aitip_tools_over_stdio(api, tmp_path):
    """The real `mcp` client (PyPI) starts `aitip mcp` and talks JSON-RPC over its stdio, with an API key."""
    import asyncio
    import os
    import pathlib

    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    base, headers = api["base"], api["headers"]
    key = requests.post(f"{base}/api/v1/auth/api-keys", headers=headers,
                        json={"name": unique("mcp"), "scopes": ["projects:read", "api_keys:read", "api_keys:write"]}).json()["key"]
    doomed = requests.post(f"{base}/api/v1/auth/api-keys", headers=headers, json={"name": unique("doomed"), "scopes": ["projects:read"]}).json()
    binary = os.environ.get("AITIP_BIN", str(pathlib.Path(__file__).resolve().parents[2] / ".build" / "debug" / "aitip"))
    parameters = StdioServerParameters(command=binary, args=["mcp"], env={"AITIP_SERVER": base, "AITIP_TOKEN": key, "HOME": str(tmp_path)})

    async def session():
        async with stdio_client(parameters) as (read, write):
            async with ClientSession(read, write) as client:
                await client.initialize()
                tools = {tool.name: tool for tool in (await client.list_tools()).tools}
                assert "release_create" in tools and "training_submit" in tools and "projects_list_projects" in tools, sorted(tools)[:20]
                assert "confirmation_token" in tools["api_keys_revoke_api_key"].input_schema["properties"]
                listed = await client.call_tool("projects_list_projects", {"limit": 2})
                assert not listed.is_error and json.loads(listed.content[0].text)["status"] == "succeeded", listed
                # A destructive tool answers its confirmation token first; the same call with it runs.
                asked = await client.call_tool("api_keys_revoke_api_key", {"key_id": doomed["id"]})
                assert not asked.is_error and "confirmation_token" in asked.content[0].text, asked
                token = asked.structured_content["confirmation_token"]
                done = await client.call_tool("api_keys_revoke_api_key", {"key_id": doomed["id"], "confirmation_token": token})
                assert not done.is_error and json.loads(done.content[0].text)["status"] == "succeeded", done
                refused = await client.call_tool("projects_list_projects", {"no_such": 1})
                assert refused.is_error and "no_such" in refused.content[0].text, refused

    asyncio.run(session())
    keys = requests.get(f"{base}/api/v1/auth/api-keys", headers=headers).json()["items"]
    assert all(k["id"] != doomed["id"] or k.get("revoked_at") for k in keys)


def test_the_agent_stream_follows_a_job_an_agent_started_until_it_ends(api):
    """WS /ws/agent/stream with the real `websockets` client: a training job submitted and confirmed over the stream,
    its execution's changes, then the job's own status changes until it succeeds."""
    from websockets.sync.client import connect

    base, headers = api["base"], api["headers"]
    params = {"project_id": api["project"], "name": unique("streamed-job"), "entrypoint": "sleep 1; echo streamed",
              "resources": {"cpu": 0.2, "memory_mib": 128}}
    url = base.replace("http://", "ws://") + "/ws/agent/stream"
    with connect(url, additional_headers=headers, open_timeout=10) as stream:
        def next_message(kind, **match):
            while True:
                message = json.loads(stream.recv(timeout=120))
                if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                    return message

        stream.send(json.dumps({"type": "execute", "ref": "ask", "tool": "training.submit", "params": params}))
        asked = next_message("reply", ref="ask")["body"]
        assert asked["status"] == "awaiting_confirmation", asked
        stream.send(json.dumps({"type": "execute", "ref": "go", "tool": "training.submit", "params": params, "async": True,
                                "confirmation_token": asked["confirmation_token"]}))
        assert next_message("reply", ref="go")["http_status"] == 200
        while (execution := next_message("execution")["execution"])["status"] != "succeeded":
            assert execution["execution_id"] == asked["execution_id"] and execution["status"] != "failed", execution
        job_url = execution["monitoring"]["resource_url"]
        statuses = []
        while True:
            message = json.loads(stream.recv(timeout=180))
            if message["type"] == "resource":
                assert message["url"] == job_url and message["execution_id"] == asked["execution_id"], message
                statuses.append(message["status"])
            if message["type"] == "resource_end":
                break
        assert statuses[-1] == "succeeded" and len(statuses) >= 2, statuses
        assert requests.get(base + job_url, headers=headers).json()["status"] == "succeeded"


def test_an_mcp_client_calls_tools_and_reads_resources_over_streamable_http(api):
    """The real `mcp` client's streamable HTTP transport against POST /api/v1/agent/mcp, with an API key: tools (a
    costly one answers its confirmation token), resources listed and read, an unknown one refused."""
    import asyncio

    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError

    base, headers = api["base"], api["headers"]
    job = requests.post(f"{base}/api/v1/training/jobs", headers=headers, json={
        "project_id": api["project"], "name": unique("mcp-job"), "entrypoint": "echo read over mcp", "resources": {"cpu": 0.2, "memory_mib": 128}})
    assert job.status_code == 201, job.text
    key = requests.post(f"{base}/api/v1/auth/api-keys", headers=headers, json={
        "name": unique("mcp-http"), "scopes": ["projects:read", "training:read", "training:write", "data:read", "release:read"]}).json()["key"]

    async def session():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            async with streamable_http_client(f"{base}/api/v1/agent/mcp", http_client=http) as streams:
                async with ClientSession(streams[0], streams[1]) as client:
                    await client.initialize()
                    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
                    assert "training_submit" in tools and "confirmation_token" in tools["training_submit"].input_schema["properties"]
                    listed = await client.call_tool("projects_list_projects", {"limit": 2})
                    assert not listed.is_error and json.loads(listed.content[0].text)["status"] == "succeeded", listed
                    asked = await client.call_tool("training_submit", {"project_id": api["project"], "name": unique("mcp"), "entrypoint": "true"})
                    assert not asked.is_error and asked.structured_content["status"] == "awaiting_confirmation", asked

                    uri = f"aitip://training/jobs/{job.json()['id']}"
                    resources = [str(r.uri) for r in (await client.list_resources()).resources]
                    assert uri in resources, resources[:10]
                    templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
                    assert "aitip://releases/{release_id}" in templates and "aitip://training/jobs/{job_id}/logs" in templates, templates
                    read = await client.read_resource(uri)
                    assert json.loads(read.contents[0].text)["name"] == job.json()["name"], read
                    try:
                        await client.read_resource("aitip://training/jobs/not-an-id")
                        raise AssertionError("an unknown resource was read")
                    except MCPError as error:
                        assert "not found" in str(error).lower(), error

    asyncio.run(session())
    anonymous = requests.post(f"{base}/api/v1/agent/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert anonymous.status_code == 401, anonymous.text


def test_the_llm_mode_reads_words_through_an_openai_compatible_endpoint_and_checks_what_it_proposes():
    """agent_llm_url: the server asks an OpenAI-compatible chat-completions endpoint for one tool call. No language
    model can run on these machines (no model hub), so the endpoint is a scripted one that answers what each step
    sets; what is tested is aitip's side: the request it sends (model, key, tools offered, the words), and how it treats
    the answer — a name where an id belongs looked up as the caller, arguments the tool does not take left out, a
    question passed on, a tool that does not exist refused, an endpoint that does not answer reported (502)."""
    from aitip_server import running_server

    script = {"answer": None}

    def chat(path, body):
        return (200, {"choices": [{"message": script["answer"]}]}) if path == "/v1/chat/completions" else 404

    model = Receiver(status_for=chat)
    env = {"AITIP_AGENT_LLM_URL": f"{model.base}/v1", "AITIP_AGENT_LLM_MODEL": "scripted", "AITIP_AGENT_LLM_API_KEY": "llm-secret"}
    with running_server("llm-admin-password", env) as (base, _):
        token = requests.post(f"{base}/api/v1/auth/login", json={"username": "admin", "password": "llm-admin-password"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        project = requests.get(f"{base}/api/v1/projects", headers=headers).json()["items"][0]["id"]
        dataset = requests.post(f"{base}/api/v1/projects/{project}/datasets", headers=headers, json={"name": "reviews", "format": "csv"}).json()

        def ask(words, **extra):
            return requests.post(f"{base}/api/v1/agent/natural-language", headers=headers,
                                 json={"message": words, "context": {"project_id": project}, **extra})

        def call(name, arguments):
            return {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call-1", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}

        script["answer"] = call("datasets_list_dataset_versions", {"dataset_id": "reviews", "colour": "blue"})
        words = "which versions of the reviews data do we keep?"
        plan = ask(words, execute=True, mode="llm")
        assert plan.status_code == 200, plan.text
        plan = plan.json()
        assert plan["reader"] == "llm" and plan.get("intent") == "datasets.list_dataset_versions", plan
        assert plan["params"] == {"dataset_id": dataset["id"]} and "colour" in plan["explanation"], plan
        assert plan["execution"]["status"] == "succeeded", plan["execution"]
        _, sent_headers, sent = model.requests[-1]
        sent = json.loads(sent)
        assert sent_headers["authorization"] == "Bearer llm-secret" and sent["model"] == "scripted", sent_headers
        assert sent["messages"][-1] == {"role": "user", "content": words}
        offered = [tool["function"]["name"] for tool in sent["tools"]]
        assert "datasets_list_dataset_versions" in offered and len(offered) <= 24, offered

        # The rules read what they know first (no request to the model) unless mode is llm.
        asked = len(model.requests)
        assert ask("list the datasets").json()["reader"] == "rules" and len(model.requests) == asked
        script["answer"] = {"role": "assistant", "content": "Which dataset do you mean?"}
        unclear = ask("list the datasets", mode="llm").json()
        assert unclear["understood"] is False and unclear["questions"] == ["Which dataset do you mean?"], unclear
        script["answer"] = call("drop_everything", {})
        invented = ask("wipe it all out", mode="llm").json()
        assert invented["understood"] is False and "drop_everything" in invented["questions"][0], invented

        model.server.shutdown()
        model.server.server_close()
        down = ask("wipe it all out", mode="llm")
        assert down.status_code == 502 and "did not answer" in down.json()["detail"], down.text
        assert "llm-secret" not in down.text
