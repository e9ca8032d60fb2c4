"""Uploading a code package (a gzip-compressed tar made of name → bytes) the way `aitip … --code DIR` does."""
import io
import tarfile

import requests


def upload_code(base, headers, project, files):
    """Uploads `files` as a code package of `project`; returns its sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    answer = requests.post(f"{base}/api/v1/training/code?project_id={project}", data=buffer.getvalue(),
                           headers={**headers, "Content-Type": "application/gzip"})
    assert answer.status_code == 201, answer.text
    return answer.json()["sha256"]
