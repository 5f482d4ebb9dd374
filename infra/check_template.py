#!/usr/bin/env python3
"""Checks that infra/template.yaml matches what the Rust code expects.

cfn-lint proves the template is valid CloudFormation/SAM; this proves it is the
stack *Callisto* needs: the names below are read from the Rust sources (not
repeated here), so renaming a key attribute, an index, the mail queue, a job
queue or an environment variable in the code without changing the template
fails the check, and so does the reverse. Every `pub const *_QUEUE: &str` under
core/store/src/repo/ is a job queue: declaring one in the code makes this check
demand its queue, dead-letter queue, IAM grants and output in the template.

Usage: check_template.py [TEMPLATE]   (default: infra/template.yaml)
Needs only the standard library and cfn-lint's YAML loader (it understands
!Ref, !Sub, !GetAtt); run it with the Python that has cfn-lint installed.
Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent

# Where each fact lives in the code.
DYNAMO_RS = "core/store/src/aws/dynamo.rs"
ITEM_RS = "core/store/src/item.rs"
AWS_MOD_RS = "core/store/src/aws/mod.rs"
OUTBOX_RS = "core/store/src/outbox.rs"
LAMBDA_LIB_RS = "functions/lambda/src/lib.rs"
JOBS_BIN_RS = "functions/lambda/src/bin/jobs.rs"
REPO_DIR = "core/store/src/repo"
LAMBDA_CARGO = "functions/lambda/Cargo.toml"
API_LIB_RS = "functions/api/src/lib.rs"

REQUIRED_PARAMETERS = ["Stage", "PublicUrl", "JwtSecretParameterName", "QueuePrefix"]
REQUIRED_OUTPUTS = ["ApiUrl", "TableName", "BucketName", "MailQueueUrl", "JobsFunctionName"]
# What the jobs function does with a job queue, and what the API does with it.
JOBS_QUEUE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"}
API_QUEUE_ACTIONS = {"sqs:SendMessage", "sqs:GetQueueUrl"}


class CodeDrift(Exception):
    """A fact could not be found in the Rust sources."""


def source(rel: str) -> str:
    return (ROOT / rel).read_text(encoding="utf-8")


def find(rel: str, pattern: str, what: str, flags: int = 0) -> re.Match[str]:
    m = re.search(pattern, source(rel), flags)
    if m is None:
        raise CodeDrift(
            f"cannot find {what} in {rel}; if the code changed, update "
            f"infra/template.yaml and infra/check_template.py together"
        )
    return m


def code_facts() -> dict:
    """The names the template must agree with, read from the Rust sources."""
    facts: dict = {}
    facts["pk"] = find(DYNAMO_RS, r'const PK: &str = "([^"]+)";', "const PK").group(1)
    facts["sk"] = find(DYNAMO_RS, r'const SK: &str = "([^"]+)";', "const SK").group(1)
    block = find(DYNAMO_RS, r"const GSI_ATTRS\b[^=]*=\s*\[(.*?)\];", "const GSI_ATTRS", re.S)
    facts["gsi_attrs"] = re.findall(r'\(\s*"([^"]+)"\s*,\s*"([^"]+)"\s*,?\s*\)', block.group(1))
    names = find(ITEM_RS, r"fn name\(self\)[^{]*\{\s*\[([^\]]*)\]", "Index::name")
    facts["gsi_names"] = re.findall(r'"([^"]+)"', names.group(1))
    facts["body"] = find(DYNAMO_RS, r'const BODY: &str = "([^"]+)";', "const BODY").group(1)
    facts["ver"] = find(DYNAMO_RS, r'const VER: &str = "([^"]+)";', "const VER").group(1)
    dynamo = source(DYNAMO_RS)
    facts["pay_per_request"] = "BillingMode::PayPerRequest" in dynamo
    facts["projection_all"] = "ProjectionType::All" in dynamo
    facts["string_keys"] = "ScalarAttributeType::S" in dynamo
    facts["mail_queue"] = find(
        OUTBOX_RS, r'pub const MAIL_QUEUE: &str = "([^"]+)";', "MAIL_QUEUE"
    ).group(1)
    env = {}
    for key in ("ENV_TABLE", "ENV_BUCKET", "ENV_QUEUE_PREFIX", "ENV_ENDPOINT_URL"):
        env[key] = find(
            AWS_MOD_RS, rf'const {key}: &\'static str = "([^"]+)";', f"AwsConfig::{key}"
        ).group(1)
    facts["aws_env"] = env
    # The http binary's own variables: CALLISTO_STORE=aws selects the AWS backend.
    find(LAMBDA_LIB_RS, r'var\("CALLISTO_STORE"\)', 'std::env::var("CALLISTO_STORE")')
    find(LAMBDA_LIB_RS, r'Ok\("aws"\)', 'CALLISTO_STORE value "aws"')
    for var in ("CALLISTO_JWT_SECRET", "CALLISTO_PUBLIC_URL"):
        find(LAMBDA_LIB_RS, rf'required\("{var}"\)', f'required("{var}")')
    facts["http_bin"] = find(
        LAMBDA_CARGO, r'\[\[bin\]\]\s*name\s*=\s*"([^"]+)"\s*path\s*=\s*"src/bin/http\.rs"',
        "the [[bin]] of src/bin/http.rs",
    ).group(1)
    facts["jobs_bin"] = find(
        LAMBDA_CARGO, r'\[\[bin\]\]\s*name\s*=\s*"([^"]+)"\s*path\s*=\s*"src/bin/jobs\.rs"',
        "the [[bin]] of src/bin/jobs.rs",
    ).group(1)
    # The job queues: every `pub const X_QUEUE: &str = "name";` of the repositories.
    queues = {}
    for rs in sorted((ROOT / REPO_DIR).glob("*.rs")):
        for const, name in re.findall(r'pub const (\w+_QUEUE): &str = "([^"]+)";', rs.read_text(encoding="utf-8")):
            queues[const] = name
    if not queues:
        raise CodeDrift(f"no `pub const *_QUEUE: &str` in {REPO_DIR}/*.rs; update infra/check_template.py")
    facts["job_queues"] = queues
    # The jobs binary's variables: what JobsConfig::from_env reads.
    jobs_cfg = find(LAMBDA_LIB_RS, r"impl JobsConfig \{(.*?)\n\}", "impl JobsConfig", re.S).group(1)
    if "StoreChoice::from_env()" not in jobs_cfg:
        raise CodeDrift(f"JobsConfig no longer uses StoreChoice::from_env() in {LAMBDA_LIB_RS}; update infra/check_template.py")
    facts["jobs_required_env"] = re.findall(r'required\("([A-Z0-9_]+)"\)', jobs_cfg)
    facts["jobs_optional_env"] = [
        v for v in re.findall(r'var\("([A-Z0-9_]+)"\)', jobs_cfg) if not v.startswith("AWS_LAMBDA_")
    ]
    facts["jobs_stop_before"] = int(find(
        JOBS_BIN_RS, r"const STOP_BEFORE: Duration = Duration::from_secs\((\d+)\);", "const STOP_BEFORE"
    ).group(1))
    facts["api_prefix"] = find(API_LIB_RS, r'\.nest\(\s*"(/[^"]*)"', "the router's .nest(\"/api\", …)").group(1)
    return facts


class Report:
    def __init__(self) -> None:
        self.failed = 0
        self.total = 0

    def check(self, ok: bool, what: str, detail: object = "") -> bool:
        self.total += 1
        if ok:
            print(f"  ok   {what}")
        else:
            self.failed += 1
            print(f"  FAIL {what}" + (f": {detail}" if detail != "" else ""))
        return ok


def plain(value):
    """cfn-lint's nodes as plain dicts/lists/strings, for comparisons and messages."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def resources_of(template: dict, kind: str) -> dict:
    return {
        name: res
        for name, res in template.get("Resources", {}).items()
        if isinstance(res, dict) and res.get("Type") == kind
    }


def key_schema(elements) -> list:
    return [(e.get("AttributeName"), e.get("KeyType")) for e in elements or []]


PSEUDO_PARAMETERS = {
    "AWS::AccountId", "AWS::NoValue", "AWS::NotificationARNs", "AWS::Partition",
    "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}
# Resources the SAM transform adds (e.g. "HttpFunctionRole"): list one here
# before referencing it in the template.
SAM_GENERATED: set[str] = set()


def references(node, path="") -> list[tuple[str, str]]:
    """Every (path, name) that a Ref, Fn::GetAtt or Fn::Sub variable points at."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}/{k}"
            if k == "Ref" and isinstance(v, str):
                found.append((here, str(v)))
            elif k == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) and v else str(v).split(".")[0]
                found.append((here, str(target)))
            elif k == "Fn::Sub":
                text, local = (v[0], v[1]) if isinstance(v, list) and len(v) == 2 else (v, {})
                for var in re.findall(r"\$\{(?!!)([^}]+)\}", str(text)):
                    name = var.split(".")[0] if not var.startswith("AWS::") else var
                    if name not in local:
                        found.append((here, name))
                found.extend(references(local, here))
            else:
                found.extend(references(v, here))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found.extend(references(v, f"{path}/{i}"))
    return found


def check_references(r: Report, template: dict) -> None:
    """cfn-lint validates SAM resources against schemas without running the SAM
    transform, so a Ref inside them to a missing name goes unnoticed there."""
    declared = (
        set(template.get("Parameters", {})) | set(template.get("Resources", {}))
        | PSEUDO_PARAMETERS | SAM_GENERATED
    )
    dangling = [(where, name) for where, name in references(plain(template)) if name not in declared]
    r.check(not dangling, "every Ref, GetAtt and Sub variable names a declared parameter or resource", dangling)


def check_table(r: Report, facts: dict, template: dict) -> str | None:
    tables = resources_of(template, "AWS::DynamoDB::Table")
    if not r.check(len(tables) == 1, "exactly one DynamoDB table", sorted(tables)):
        return None
    name, table = next(iter(tables.items()))
    p = table.get("Properties", {})
    pk, sk = facts["pk"], facts["sk"]
    r.check(
        key_schema(p.get("KeySchema")) == [(pk, "HASH"), (sk, "RANGE")],
        f"table key schema is {pk} HASH, {sk} RANGE",
        key_schema(p.get("KeySchema")),
    )
    r.check(
        len(facts["gsi_names"]) == len(facts["gsi_attrs"]) > 0,
        "code: one (pk, sk) pair per index name",
        (facts["gsi_names"], facts["gsi_attrs"]),
    )
    expected = {n: [(a, "HASH"), (b, "RANGE")] for n, (a, b) in zip(facts["gsi_names"], facts["gsi_attrs"])}
    gsis = p.get("GlobalSecondaryIndexes") or []
    actual = {g.get("IndexName"): key_schema(g.get("KeySchema")) for g in gsis}
    r.check(actual == expected, f"GSIs are {expected}", actual)
    projections = {g.get("IndexName"): plain(g.get("Projection")) for g in gsis}
    if facts["projection_all"]:
        r.check(
            all(pr == {"ProjectionType": "ALL"} for pr in projections.values()),
            "every GSI projects ALL attributes (the adapter reads whole items from indexes)",
            projections,
        )
    attrs = {d.get("AttributeName"): d.get("AttributeType") for d in p.get("AttributeDefinitions") or []}
    want_attrs = {pk: "S", sk: "S"}
    for a, b in facts["gsi_attrs"]:
        want_attrs.update({a: "S", b: "S"})
    r.check(facts["string_keys"], "code: key attributes are strings (ScalarAttributeType::S)")
    r.check(attrs == want_attrs, "attribute definitions: every key attribute, type S", attrs)
    if facts["pay_per_request"]:
        r.check(p.get("BillingMode") == "PAY_PER_REQUEST", "billing mode PAY_PER_REQUEST", p.get("BillingMode"))
    pitr = (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    r.check(pitr is True, "point-in-time recovery enabled", pitr)
    sse = (p.get("SSESpecification") or {}).get("SSEEnabled")
    r.check(sse is True, "table server-side encryption enabled", sse)
    ttl = plain(p.get("TimeToLiveSpecification"))
    if ttl is not None:
        used = {pk, sk, facts["body"], facts["ver"]} | {x for pair in facts["gsi_attrs"] for x in pair}
        r.check(
            ttl.get("AttributeName") == "ttl" and "ttl" not in used,
            "TTL attribute is `ttl`, not one the adapter writes",
            ttl,
        )
    return name


def check_bucket(r: Report, template: dict) -> str | None:
    buckets = resources_of(template, "AWS::S3::Bucket")
    if not r.check(len(buckets) == 1, "exactly one S3 bucket", sorted(buckets)):
        return None
    name, bucket = next(iter(buckets.items()))
    p = bucket.get("Properties", {})
    block = plain(p.get("PublicAccessBlockConfiguration")) or {}
    flags = ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"]
    r.check(all(block.get(f) is True for f in flags), "bucket blocks all public access", block)
    sse = plain(p.get("BucketEncryption")) or {}
    r.check(bool(sse.get("ServerSideEncryptionConfiguration")), "bucket encryption configured", sse)
    versioning = (p.get("VersioningConfiguration") or {}).get("Status")
    r.check(versioning == "Enabled", "bucket versioning enabled", versioning)
    return name


def check_queue(r: Report, facts: dict, template: dict) -> str | None:
    queues = resources_of(template, "AWS::SQS::Queue")
    want = {"Fn::Sub": "${QueuePrefix}" + facts["mail_queue"]}
    mail = [n for n, q in queues.items() if plain(q.get("Properties", {}).get("QueueName")) == want]
    if not r.check(
        len(mail) == 1,
        f"one queue named <QueuePrefix>{facts['mail_queue']} (MAIL_QUEUE)",
        {n: plain(q.get("Properties", {}).get("QueueName")) for n, q in queues.items()},
    ):
        return None
    name = mail[0]
    redrive = plain(queues[name].get("Properties", {}).get("RedrivePolicy")) or {}
    target = redrive.get("deadLetterTargetArn")
    dlq = target.get("Fn::GetAtt") if isinstance(target, dict) else None
    dlq_name = (dlq[0] if isinstance(dlq, list) else str(dlq).split(".")[0]) if dlq else None
    r.check(
        dlq_name in queues and dlq_name != name and redrive.get("maxReceiveCount") == 5,
        "mail queue redrives to its own dead-letter queue after 5 receives",
        redrive,
    )
    return name


def check_function(r: Report, facts: dict, template: dict, table, bucket, queue, job_queues: dict) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    suffix = f"target/lambda/{facts['http_bin']}"
    http = [
        n for n, f in functions.items()
        if str(f.get("Properties", {}).get("CodeUri", "")).rstrip("/").endswith(suffix)
    ]
    if not r.check(len(http) == 1, f"one function with CodeUri …/{suffix}/ (cargo bin {facts['http_bin']})",
                   {n: f.get("Properties", {}).get("CodeUri") for n, f in functions.items()}):
        return
    p = functions[http[0]].get("Properties", {})
    shape = {k: plain(p.get(k)) for k in ("Runtime", "Architectures", "Handler", "MemorySize", "Timeout")}
    r.check(
        shape == {"Runtime": "provided.al2023", "Architectures": ["arm64"], "Handler": "bootstrap",
                  "MemorySize": 1024, "Timeout": 29},
        "function runtime provided.al2023 / arm64 / bootstrap / 1024 MB / 29 s",
        shape,
    )
    env = plain((p.get("Environment") or {}).get("Variables")) or {}
    aws = facts["aws_env"]
    want = {
        "CALLISTO_STORE": "aws",
        aws["ENV_TABLE"]: {"Ref": table},
        aws["ENV_BUCKET"]: {"Ref": bucket},
        aws["ENV_QUEUE_PREFIX"]: {"Ref": "QueuePrefix"},
        "CALLISTO_PUBLIC_URL": {"Ref": "PublicUrl"},
    }
    got = {k: env.get(k) for k in want}
    r.check(got == want, "environment wires the store, table, bucket, queue prefix and public URL", got)
    secret = env.get("CALLISTO_JWT_SECRET")
    secret_sub = secret.get("Fn::Sub") if isinstance(secret, dict) else None
    r.check(
        isinstance(secret_sub, str)
        and re.fullmatch(r"\{\{resolve:(secretsmanager|ssm-secure):\$\{JwtSecretParameterName\}[^}]*\}\}", secret_sub)
        is not None,
        "CALLISTO_JWT_SECRET is a dynamic reference to the JwtSecretParameterName secret",
        secret,
    )
    r.check(aws["ENV_ENDPOINT_URL"] not in env, f"{aws['ENV_ENDPOINT_URL']} is not set (real AWS endpoints)")

    policies = plain(p.get("Policies")) or []
    templates = {}
    for pol in policies:
        if isinstance(pol, dict):
            for k, v in pol.items():
                if k != "Statement":
                    templates[k] = v
    r.check(
        templates.get("DynamoDBCrudPolicy") == {"TableName": {"Ref": table}}
        and templates.get("S3CrudPolicy") == {"BucketName": {"Ref": bucket}}
        and templates.get("SQSSendMessagePolicy") == {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}},
        "IAM: DynamoDBCrudPolicy(table), S3CrudPolicy(bucket), SQSSendMessagePolicy(mail queue)",
        templates,
    )
    r.check(
        set(templates) <= {"DynamoDBCrudPolicy", "S3CrudPolicy", "SQSSendMessagePolicy"}
        and all(isinstance(pol, dict) for pol in policies),
        "IAM: no other policy templates or managed policies",
        policies,
    )
    statements = [
        st for pol in policies if isinstance(pol, dict) for st in (pol.get("Statement") or [])
    ]
    def actions(st: dict) -> list:
        a = st.get("Action")
        return a if isinstance(a, list) else [a]

    wildcards = [
        st for st in statements
        if st.get("Resource") == "*" or any(a == "*" or str(a).endswith(":*") for a in actions(st))
    ]
    r.check(not wildcards, "IAM: inline statements grant no wildcard action or resource", wildcards)
    for const, name in sorted(job_queues.items()):
        got_actions = granted(policies, name)
        r.check(
            API_QUEUE_ACTIONS <= got_actions,
            f"IAM: the API may {sorted(API_QUEUE_ACTIONS)} on the {facts['job_queues'][const]} queue",
            sorted(got_actions),
        )
    events = plain(p.get("Events")) or {}
    want_path = facts["api_prefix"].rstrip("/") + "/{proxy+}"
    apis = [
        e.get("Properties", {}) for e in events.values()
        if e.get("Type") == "HttpApi"
        and e.get("Properties", {}).get("Path") == want_path
        and str(e.get("Properties", {}).get("Method", "")).upper() == "ANY"
    ]
    r.check(len(apis) == 1, f"HttpApi event ANY {want_path} (the router nests {facts['api_prefix']})", events)
    http_apis = resources_of(template, "AWS::Serverless::HttpApi")
    r.check(
        len(apis) == 1 and apis[0].get("ApiId") in [{"Ref": n} for n in http_apis],
        "the event attaches to the template's AWS::Serverless::HttpApi",
        [a.get("ApiId") for a in apis],
    )


def getatt_target(value, attribute: str) -> str | None:
    """The logical name in `!GetAtt Name.<attribute>`, in either of its YAML forms."""
    if not isinstance(value, dict) or "Fn::GetAtt" not in value:
        return None
    v = value["Fn::GetAtt"]
    parts = v if isinstance(v, list) else str(v).split(".", 1)
    return str(parts[0]) if len(parts) == 2 and parts[1] == attribute else None


def statements_of(policies: list) -> list:
    return [st for pol in policies if isinstance(pol, dict) for st in (pol.get("Statement") or [])]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def granted(policies: list, queue: str) -> set:
    """The actions the inline statements allow on `queue`'s ARN."""
    actions: set = set()
    for st in statements_of(policies):
        if st.get("Effect") == "Allow" and queue in [getatt_target(res, "Arn") for res in as_list(st.get("Resource"))]:
            actions.update(str(a) for a in as_list(st.get("Action")))
    return actions


def check_job_queues(r: Report, facts: dict, template: dict) -> dict:
    """Every job queue of the code: declared, with its own dead-letter queue,
    encrypted, hidden while a run may still hold it. Returns const -> logical id."""
    queues = resources_of(template, "AWS::SQS::Queue")
    found = {}
    for const, qname in sorted(facts["job_queues"].items()):
        want = {"Fn::Sub": "${QueuePrefix}" + qname}
        named = [n for n, q in queues.items() if plain(q.get("Properties", {}).get("QueueName")) == want]
        if not r.check(len(named) == 1, f"one queue named <QueuePrefix>{qname} ({const})",
                       {n: plain(q.get("Properties", {}).get("QueueName")) for n, q in queues.items()}):
            continue
        name = named[0]
        found[const] = name
        p = plain(queues[name].get("Properties", {}))
        redrive = p.get("RedrivePolicy") or {}
        dlq = getatt_target(redrive.get("deadLetterTargetArn"), "Arn")
        others = [
            getatt_target((plain(q.get("Properties", {})).get("RedrivePolicy") or {}).get("deadLetterTargetArn"), "Arn")
            for n, q in queues.items() if n != name
        ]
        r.check(
            dlq in queues and dlq != name and dlq not in others
            and isinstance(redrive.get("maxReceiveCount"), int) and redrive["maxReceiveCount"] >= 2,
            f"{qname} queue redrives to a dead-letter queue of its own after ≥ 2 receives",
            redrive,
        )
        r.check(
            p.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in p,
            f"{qname} queue is encrypted at rest",
            {k: p.get(k) for k in ("SqsManagedSseEnabled", "KmsMasterKeyId")},
        )
    return found


def check_jobs_function(r: Report, facts: dict, template: dict, table, bucket, mail, job_queues: dict) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    suffix = f"target/lambda/{facts['jobs_bin']}"
    jobs = [
        n for n, f in functions.items()
        if str(f.get("Properties", {}).get("CodeUri", "")).rstrip("/").endswith(suffix)
    ]
    if not r.check(len(jobs) == 1, f"one function with CodeUri …/{suffix}/ (cargo bin {facts['jobs_bin']})",
                   {n: f.get("Properties", {}).get("CodeUri") for n, f in functions.items()}):
        return
    p = plain(functions[jobs[0]].get("Properties", {}))
    shape = {k: p.get(k) for k in ("Runtime", "Architectures", "Handler")}
    r.check(shape == {"Runtime": "provided.al2023", "Architectures": ["arm64"], "Handler": "bootstrap"},
            "jobs function runtime provided.al2023 / arm64 / bootstrap", shape)
    timeout = p.get("Timeout")
    r.check(
        isinstance(timeout, int) and facts["jobs_stop_before"] < timeout <= 900,
        f"jobs function timeout is longer than STOP_BEFORE ({facts['jobs_stop_before']} s) and at most 900 s",
        timeout,
    )
    queues = resources_of(template, "AWS::SQS::Queue")
    for const, name in sorted(job_queues.items()):
        vis = plain(queues[name].get("Properties", {})).get("VisibilityTimeout")
        r.check(
            isinstance(vis, int) and isinstance(timeout, int) and vis >= timeout,
            f"{facts['job_queues'][const]} queue visibility timeout ≥ the jobs function's timeout",
            {"VisibilityTimeout": vis, "Timeout": timeout},
        )
    log_group = (p.get("LoggingConfig") or {}).get("LogGroup")
    r.check(
        isinstance(log_group, dict) and log_group.get("Ref") in resources_of(template, "AWS::Logs::LogGroup"),
        "jobs function logs to a log group of the stack",
        log_group,
    )
    env = (p.get("Environment") or {}).get("Variables") or {}
    aws = facts["aws_env"]
    want = {
        "CALLISTO_STORE": "aws",
        aws["ENV_TABLE"]: {"Ref": table},
        aws["ENV_BUCKET"]: {"Ref": bucket},
        aws["ENV_QUEUE_PREFIX"]: {"Ref": "QueuePrefix"},
    }
    got = {k: env.get(k) for k in want}
    r.check(got == want, "jobs environment wires the store, table, bucket and queue prefix", got)
    missing = [v for v in facts["jobs_required_env"] if v not in env]
    r.check(not missing, f"jobs environment has every variable JobsConfig requires {facts['jobs_required_env']}", missing)
    known = set(want) | set(facts["jobs_required_env"]) | set(facts["jobs_optional_env"]) | {"RUST_LOG"}
    extra = sorted(set(env) - known)
    r.check(not extra, "jobs environment holds only variables the jobs binary reads (no API secrets)", extra)
    r.check(aws["ENV_ENDPOINT_URL"] not in env, f"jobs: {aws['ENV_ENDPOINT_URL']} is not set (real AWS endpoints)")

    policies = p.get("Policies") or []
    templates = {k: v for pol in policies if isinstance(pol, dict) for k, v in pol.items() if k != "Statement"}
    r.check(
        templates == {
            "DynamoDBCrudPolicy": {"TableName": {"Ref": table}},
            "S3CrudPolicy": {"BucketName": {"Ref": bucket}},
            "SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": [mail, "QueueName"]}},
        } and all(isinstance(pol, dict) for pol in policies),
        "jobs IAM: DynamoDBCrudPolicy(table), S3CrudPolicy(bucket), SQSSendMessagePolicy(mail queue), nothing else",
        templates,
    )
    statements = statements_of(policies)
    wildcards = [
        st for st in statements
        if "*" in as_list(st.get("Resource")) or any(a == "*" or str(a).endswith(":*") for a in as_list(st.get("Action")))
    ]
    r.check(not wildcards, "jobs IAM: inline statements grant no wildcard action or resource", wildcards)
    r.check("sqs:GetQueueUrl" in granted(policies, mail), "jobs IAM: sqs:GetQueueUrl on the mail queue")
    for const, name in sorted(job_queues.items()):
        got_actions = granted(policies, name)
        r.check(
            JOBS_QUEUE_ACTIONS <= got_actions,
            f"jobs IAM: {sorted(JOBS_QUEUE_ACTIONS)} on the {facts['job_queues'][const]} queue",
            sorted(got_actions),
        )
    events = p.get("Events") or {}
    schedules = [
        e for e in events.values()
        if e.get("Type") in ("ScheduleV2", "Schedule")
        and (e.get("Properties") or {}).get("ScheduleExpression") == "rate(1 minute)"
        and (e.get("Properties") or {}).get("State", "ENABLED") == "ENABLED"
        and (e.get("Properties") or {}).get("Enabled", True) is True
    ]
    r.check(len(schedules) == 1, "jobs function runs on an enabled schedule rate(1 minute)", events)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else ROOT / "infra" / "template.yaml"
    print(f"template vs code: {path}")
    try:
        facts = code_facts()
    except CodeDrift as e:
        print(f"  FAIL {e}")
        return 1
    template = cfn_yaml.load(str(path))
    r = Report()
    r.check(
        "AWS::Serverless-2016-10-31" in plain(template.get("Transform") or []),
        "SAM transform AWS::Serverless-2016-10-31",
    )
    check_references(r, template)
    params = template.get("Parameters", {})
    r.check(all(k in params for k in REQUIRED_PARAMETERS), f"parameters {REQUIRED_PARAMETERS}", sorted(params))
    table = check_table(r, facts, template)
    bucket = check_bucket(r, template)
    queue = check_queue(r, facts, template)
    job_queues = check_job_queues(r, facts, template)
    if table and bucket and queue:
        check_function(r, facts, template, table, bucket, queue, job_queues)
        check_jobs_function(r, facts, template, table, bucket, queue, job_queues)
    else:
        r.check(False, "function checks skipped: table, bucket or mail queue missing")
    outputs = template.get("Outputs", {})
    r.check(all(k in outputs for k in REQUIRED_OUTPUTS), f"outputs {REQUIRED_OUTPUTS}", sorted(outputs))
    output_refs = [plain(o.get("Value")) for o in outputs.values() if isinstance(o, dict)]
    for const, name in sorted(job_queues.items()):
        r.check({"Ref": name} in output_refs, f"an output gives the {facts['job_queues'][const]} queue's URL")
    print(f"template vs code: {r.total - r.failed} of {r.total} checks ok")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
