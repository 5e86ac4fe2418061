"""Job sync: create the Jenkins folder, deploy and Rollback jobs and credentials a declaration names, and keep
Jenkins matching it (`bluegreen jenkins plan | sync | check`).

    cli.py          click commands → Settings
    commands.py     the runbooks: read everything local, then plan / check / sync
    declaration.py  jenkins.yml, strict
    values.py       credential values (kept in `Secret`) and their keyed fingerprints
    connection.py   JENKINS_URL / JENKINS_USER / JENKINS_API_TOKEN, from the environment or a 0600 file
    render.py       jinja2: job and credential XML (templates/)
    desired.py      what the declaration wants, as XML without secret values
    canonical.py    what "the same" means: canonical XML, redaction, who owns job properties
    compare.py      server vs wanted → a Plan (no local cache)
    apply.py        a Plan → writes
    client.py       python-jenkins, and the translation of its errors

Decisions (details in the modules named):
- Job properties (canonical.py): the deploy job's (pipeline from SCM) belong to its Jenkinsfile, which replaces
  them on every run; sync writes none, ignores them when comparing and keeps the server's on update. The
  Rollback job's (SERVICE, REASON) belong to the job definition; its script declares none.
- Credential values (values.py): Jenkins never returns them, so the description carries
  `[managed by bluegreen] fp=<HMAC-SHA256(BLUEGREEN_FINGERPRINT_KEY, id, value)[:16]>`; a changed value changes
  the fingerprint, which is what the comparison sees. A value changed in the Jenkins UI alone (description
  untouched) cannot be seen by anyone but Jenkins.
- Managed marker (render.py): `[managed by bluegreen]` in the description; only marked items are pruned, and
  only with `sync --prune`. Folders are created but never deleted (deleting one deletes all it holds).
"""
