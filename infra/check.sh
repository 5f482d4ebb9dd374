#!/usr/bin/env bash
# Offline validation of the AWS stack (no AWS account, no network):
#   1. cfn-lint: infra/template.yaml is valid SAM/CloudFormation (the SAM
#      transform runs locally), for the code's default region and us-east-1;
#   2. infra/check_template.py: the template matches the Rust code (table keys
#      and indexes, mail and job queue names, environment variables, IAM, API
#      path, the jobs function and its schedule);
#   3. the drift check itself catches drift: copies of the template with one
#      name changed must be rejected.
# Needs cfn-lint on PATH (pinned in scripts/requirements-test.txt; installed by
# scripts/install-test-deps.sh). Run from anywhere; last line is
# "infra: N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

template=infra/template.yaml
passed=0
failed=0

step() {
  local name="$1"
  shift
  echo "-- $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "   passed: $name"
  else
    failed=$((failed + 1))
    echo "   FAILED: $name"
  fi
}

# The Python that can import cfnlint: python3 on PATH (a virtualenv's when its
# bin is on PATH), else the interpreter named in cfn-lint's own shebang.
python=""
find_python() {
  local candidate
  for candidate in python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import cfnlint' 2>/dev/null; then
      python="$candidate"
      return 0
    fi
  done
  local exe shebang
  exe="$(command -v cfn-lint 2>/dev/null)" || return 1
  shebang="$(head -n 1 "$exe")"
  candidate="${shebang#\#!}"
  if [[ "$shebang" == '#!'*python* ]] && $candidate -c 'import cfnlint' 2>/dev/null; then
    python="$candidate"
    return 0
  fi
  return 1
}

have_cfn_lint=true
if ! command -v cfn-lint >/dev/null 2>&1 || ! find_python; then
  have_cfn_lint=false
  echo "cfn-lint is not installed: pip install -r scripts/requirements-test.txt" \
    "(or put the bin folder printed by scripts/install-test-deps.sh on PATH)" >&2
fi

lint() {
  $have_cfn_lint || return 1
  echo "   $(cfn-lint --version) (pinned: $(grep -i '^cfn-lint' scripts/requirements-test.txt || echo none))"
  # Exit status: 0 clean; errors, warnings and informational findings all fail.
  cfn-lint --regions eu-central-1 us-east-1 -- "$template"
}

matches_code() {
  $have_cfn_lint || return 1
  $python infra/check_template.py "$template"
}

# Each mutation renames one thing the code relies on; the checker must notice.
drift_is_caught() {
  $have_cfn_lint || return 1
  local tmp mutation ok=0
  tmp="$(mktemp -d)"
  for mutation in \
    's/gsi2sk/gsi2zz/g' \
    's/IndexName: gsi3/IndexName: gsi4/' \
    's/mail-outbox"/mail-out"/' \
    's#Path: /api/{proxy+}#Path: /v1/{proxy+}#' \
    's/CALLISTO_AWS_QUEUE_PREFIX:/CALLISTO_QUEUE_PREFIX:/' \
    's/CALLISTO_AWS_BUCKET: !Ref Bucket/CALLISTO_AWS_BUCKET: !Ref Buckets/' \
    's/}bulk"/}bulks"/' \
    's/}imports"/}import"/' \
    's#lambda/callisto-jobs/#lambda/callisto-job/#' \
    's/rate(1 minute)/rate(1 hour)/' \
    's/VisibilityTimeout: 900/VisibilityTimeout: 300/'; do
    sed "$mutation" "$template" > "$tmp/template.yaml"
    if cmp -s "$template" "$tmp/template.yaml"; then
      echo "   mutation '$mutation' changed nothing: fix infra/check.sh"
      ok=1
    elif $python infra/check_template.py "$tmp/template.yaml" > "$tmp/out" 2>&1; then
      echo "   drift NOT caught: $mutation"
      ok=1
    else
      echo "   drift caught: $mutation ($(grep -c '  FAIL' "$tmp/out") check(s) failed)"
    fi
  done
  rm -rf "$tmp"
  return "$ok"
}

step "cfn-lint $template" lint
step "template matches the Rust code" matches_code
step "drift check rejects altered templates" drift_is_caught

echo "infra: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
