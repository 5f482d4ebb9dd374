#!/usr/bin/env python3
"""Checks that infra/template.yaml matches what the Rust code expects.

cfn-lint proves the template is valid CloudFormation/SAM; this proves it is the
stack *Callisto* needs: the names below are read from the Rust sources (not
repeated here), so renaming a key attribute, an index, the mail queue or an
environment variable in the code without changing the template fails the
check, and so does the reverse.

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
LAMBDA_CARGO = "functions/lambda/Cargo.toml"
API_LIB_RS = "functions/api/src/lib.rs"

REQUIRED_PARAMETERS = ["Stage", "PublicUrl", "JwtSecretParameterName", "QueuePrefix"]
REQUIRED_OUTPUTS = ["ApiUrl", "TableName", "BucketName", "MailQueueUrl"]


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


def check_function(r: Report, facts: dict, template: dict, table, bucket, queue) -> None:
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
    if table and bucket and queue:
        check_function(r, facts, template, table, bucket, queue)
    else:
        r.check(False, "function checks skipped: table, bucket or mail queue missing")
    outputs = template.get("Outputs", {})
    r.check(all(k in outputs for k in REQUIRED_OUTPUTS), f"outputs {REQUIRED_OUTPUTS}", sorted(outputs))
    print(f"template vs code: {r.total - r.failed} of {r.total} checks ok")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
