"""Job sync: create the Jenkins folder, deploy and Rollback jobs and credentials a declaration names, and keep
Jenkins matching it (`bluegreen jenkins plan | sync | check`).

    cli.py          click commands → Settings
    commands.py     the runbooks: read everything local, then plan / check / sync
    declaration.py  jenkins.yml, strict (through bluegreen.config.safe_yaml)
    values.py       credential values (kept in `Secret`) and their keyed fingerprints
    xmltext.py      which text survives Jenkins' XML unchanged
    connection.py   JENKINS_URL / JENKINS_USER / JENKINS_API_TOKEN, from the environment or a 0600 file
    ownership.py    the marker that says which declaration made an item
    render.py       jinja2: job and credential XML (templates/)
    desired.py      what the declaration wants, as XML without secret values; an update's body
    canonical.py    canonical text of XML, redaction
    semantic.py     what we own in an item's XML: compare it, merge it into the server's
    compare.py      server vs wanted → a Plan (no local cache), with conflicts
    apply.py        a Plan → writes
    client.py       python-jenkins, and the translation of its errors

Decisions (details in the modules named):
- Drift is a difference in what the declaration sets (semantic.py): what Jenkins adds or rewrites on its own
  (XStream's attributes, defaults, order, empty forms, prologue, Secrets, <actions>) is not, and an update merges
  into the server's XML instead of replacing it.
- Job properties (semantic.py): the deploy job's (pipeline from SCM) belong to its Jenkinsfile, which replaces
  them on every run; sync writes none, ignores them when comparing and keeps the server's on update. The
  Rollback job's (SERVICE, REASON) belong to the job definition; its script declares none.
- Credential values (values.py): Jenkins never returns them, so the description carries
  `fp=<HMAC-SHA256(BLUEGREEN_FINGERPRINT_KEY, id, type, description, value)[:16]>` in its marker; a changed value changes
  the fingerprint, which is what the comparison sees. A value changed in the Jenkins UI alone (description
  untouched) cannot be seen by anyone but Jenkins.
- Ownership (ownership.py): the last line of an item's description names the declaration's id, the item's kind
  and full name. Only items with this declaration's marker for their own name are updated or pruned (the latter
  only with `sync --prune`); any other item at a declared name is a conflict until `--adopt`ed. Folders are
  created but never deleted (deleting one deletes all it holds).
"""
