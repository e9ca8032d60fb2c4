"""A test plan end to end: the example pytest suite (examples/testsuite, one case failing on purpose) packaged and
run by the real server as a sandboxed workload, its JUnit and Cobertura reports read back, counted, and reported
as PDF; the same plan's results posted from outside."""
import io
import pathlib
import subprocess
import sys
import tarfile
import time
import uuid

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]


def package(directory):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(directory.glob("*.py")):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


def test_a_plan_runs_the_example_suite_and_its_reports_are_read(tmp_path, server, admin_token):
    base = server["url"]
    headers = {"Authorization": f"Bearer {admin_token}"}
    project = next(p for p in requests.get(f"{base}/api/v1/projects?limit=500", headers=headers).json()["items"]
                   if p["slug"] == "default")["id"]
    code = requests.post(f"{base}/api/v1/training/code?project_id={project}", data=package(ROOT / "examples" / "testsuite"),
                         headers={**headers, "Content-Type": "application/gzip"})
    assert code.status_code == 201, code.text
    python = sys.executable
    command = (f"{python} -m coverage run --source=. -m pytest -q -p no:cacheprovider --junitxml=junit.xml; status=$?; "
               f"{python} -m coverage xml -q -o coverage.xml; exit $status")
    plan = requests.post(f"{base}/api/v1/test/plans", headers=headers, json={
        "project_id": project, "name": f"textstats-{uuid.uuid4().hex[:6]}", "test_type": "unit",
        "config": {"command": command, "code_archive": code.json()["sha256"], "coverage_path": "coverage.xml",
                   "env": {"PYTHONDONTWRITEBYTECODE": "1"}, "cpu": 0.5, "memory_mib": 1024}})
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]

    execution = requests.post(f"{base}/api/v1/test/plans/{plan_id}/execute", headers=headers)
    assert execution.status_code == 201, execution.text
    execution_id = execution.json()["id"]
    deadline = time.monotonic() + 180
    while (done := requests.get(f"{base}/api/v1/test/executions/{execution_id}", headers=headers).json())["status"] in ("pending", "running"):
        assert time.monotonic() < deadline, requests.get(f"{base}/api/v1/test/executions/{execution_id}/logs", headers=headers).text
        time.sleep(0.5)
    assert done["status"] == "completed", (done, requests.get(f"{base}/api/v1/test/executions/{execution_id}/logs", headers=headers).text)
    # Six cases run under aitip (one only there), one fails on purpose.
    assert (done["total_cases"], done["passed_cases"], done["failed_cases"], done["skipped_cases"]) == (6, 5, 1, 0), done
    assert done["passed"] is False and done["exit_code"] == 1 and done["trigger_type"] == "manual"
    assert 50 < done["coverage_percent"] <= 100, done
    cases = requests.get(f"{base}/api/v1/test/executions/{execution_id}/results", headers=headers).json()["items"]
    failing = [case for case in cases if case["status"] == "failed"]
    assert [case["name"] for case in failing] == ["test_title_case_keeps_apostrophes"]
    assert "Don'T" in failing[0]["message"], failing
    assert all(case["classname"] == "test_textstats" for case in cases)

    pdf = requests.get(f"{base}/api/v1/test/executions/{execution_id}/report", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert "1 of 6 cases failed" in text and "test_title_case_keeps_apostrophes" in text and "Coverage" in text, text

    # The same suite run by a CI system elsewhere, its report posted to the plan.
    subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={tmp_path / 'junit.xml'}"],
                   cwd=ROOT / "examples" / "testsuite", capture_output=True, env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    junit = (tmp_path / "junit.xml").read_text()
    posted = requests.post(f"{base}/api/v1/test/plans/{plan_id}/results", headers=headers, json={"junit_xml": junit})
    assert posted.status_code == 201, posted.text
    assert (posted.json()["total_cases"], posted.json()["skipped_cases"], posted.json()["failed_cases"]) == (6, 1, 1)
    listed = requests.get(f"{base}/api/v1/test/executions?plan_id={plan_id}", headers=headers).json()["items"]
    assert [item["trigger_type"] for item in listed] == ["webhook", "manual"]
