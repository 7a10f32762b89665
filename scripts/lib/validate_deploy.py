"""Consistency checks across the deployment files, run by scripts/validate-deploy (which sets
the environment below and provides a virtualenv with PyYAML, dockerfile-parse and jsonschema):
compose services against the Dockerfile and the executables, Kubernetes manifests against their
schemas, Prometheus targets against the services. Prints FAIL lines and exits 1 on any failure.
"""
import fnmatch
import glob
import os
import re
import sys

import dockerfile
import yaml
import kubernetes_validate as kv

env = os.environ
EXECUTABLES = env["EXECUTABLES"].split()
VERSIONS = env["K8S_VERSIONS"].split()
errors = []
checks = 0


def check(condition, message):
    global checks
    checks += 1
    if not condition:
        errors.append(message)
    return condition


def first_word(value):
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value or "").split()[0] if str(value or "").split() else ""


# --- Package.swift: the executable products ------------------------------------------------
with open("Package.swift") as f:
    products = set(re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', f.read()))
check(products == set(EXECUTABLES),
      f"Package.swift executable products {sorted(products)} differ from the list in "
      f"scripts/validate-deploy {sorted(EXECUTABLES)}")

# --- Dockerfile: what it builds and copies into the runtime image --------------------------
# Parsed with BuildKit's own parser (the `dockerfile` package), so a syntax error fails here.
try:
    instructions = dockerfile.parse_file(env["DOCKERFILE"])
except dockerfile.GoParseError as error:
    instructions = []
    check(False, f"{env['DOCKERFILE']}: does not parse: {error}")
stages = [i for i, ins in enumerate(instructions) if ins.cmd.upper() == "FROM"]
runtime = instructions[stages[-1]:] if stages else []
args = dict(v.split("=", 1) for ins in instructions if ins.cmd.upper() == "ARG" for v in ins.value if "=" in v)
copied, copy_dest = set(), None
for ins in runtime:
    if ins.cmd.upper() == "COPY" and any(f.startswith("--from=") for f in ins.flags):
        names = {os.path.basename(p.rstrip("/")) for p in ins.value[:-1]}
        copied.update(names)
        # The executables' folder: where the COPY that brings executables puts them (not a
        # resource bundle copied beside them).
        if names & set(EXECUTABLES):
            copy_dest = ins.value[-1].rstrip("/")
built = set()
for ins in instructions[:stages[-1]] if stages else []:
    loop = re.search(r"for exe in ([^;]+);", " ".join(ins.value)) if ins.cmd.upper() == "RUN" else None
    if loop:
        built |= set(loop.group(1).split())
for exe in EXECUTABLES:
    check(exe in built, f"{env['DOCKERFILE']}: the build stage does not stage '{exe}'")
    check(exe in copied, f"{env['DOCKERFILE']}: the runtime stage does not COPY '{exe}'")
env_values = [v for ins in runtime if ins.cmd.upper() == "ENV" for v in ins.value]
path_value = env_values[env_values.index("PATH") + 1] if "PATH" in env_values[::2] else ""
check(copy_dest is not None and copy_dest in path_value.split(":"),
      f"{env['DOCKERFILE']}: the executables' folder {copy_dest} is not on PATH")
user = [ins.value[0] for ins in runtime if ins.cmd.upper() == "USER"]
uid = user[-1].split(":")[0] if user else ""
check(uid.isdigit() and uid != "0", f"{env['DOCKERFILE']}: the image must end as a numeric non-root USER, got {user}")
check(any(ins.cmd.upper() == "COPY" and any("deploy/models" in v for v in ins.value) for ins in runtime),
      f"{env['DOCKERFILE']}: deploy/models/ is not copied into the image")
check("bookworm" in args.get("SWIFT_IMAGE", "") and "bookworm" in args.get("RUNTIME_IMAGE", ""),
      f"{env['DOCKERFILE']}: toolchain and runtime images must both be Debian bookworm ones")
# What the build context must hold, and .dockerignore must not drop.
ignored = []
if os.path.exists(".dockerignore"):
    with open(".dockerignore") as f:
        ignored = [l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")]
for ins in instructions:
    if ins.cmd.upper() in ("COPY", "ADD"):
        check(len(ins.value) >= 2, f"{env['DOCKERFILE']} line {ins.start_line}: {ins.original}: needs a source and a destination")
    if ins.cmd.upper() in ("COPY", "ADD") and not any(f.startswith("--from=") for f in ins.flags):
        for source in ins.value[:-1]:
            matches = glob.glob(source.rstrip("/"))
            check(matches, f"{env['DOCKERFILE']}: COPY source {source} does not exist")
            for match in matches:
                hit = [p for p in ignored if not p.startswith("!") and fnmatch.fnmatch(match, p)]
                check(not hit, f".dockerignore pattern {hit} drops {match}, which {env['DOCKERFILE']} copies")

# --- docker-compose.yml ----------------------------------------------------------------------
with open(env["COMPOSE_FILE"]) as f:
    raw_compose = f.read()
for name in re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", raw_compose):  # $${X}: the container's
    check(False, f"{env['COMPOSE_FILE']}: ${{{name}}} has no default; write ${{{name}:-default}}")
# Compose 1.29 does not expand a variable inside another's default: `${A:-${B:-x}}` reaches the
# container as the text `${B:-x}` (a market feed once restarted forever on such a symbol list).
for line_number, line in enumerate(raw_compose.splitlines(), 1):
    check(not re.search(r"(?<!\$)\$\{[^}]*\$\{", line),
          f"{env['COMPOSE_FILE']}:{line_number}: a variable inside another's default is not expanded by "
          f"Compose 1.29: {line.strip()}")
with open(env["COMPOSE_RESOLVED"]) as f:
    compose = yaml.safe_load(f)
services = compose.get("services", {})
REQUIRED = ["backend", "model-service", "feature-worker", "risk-worker", "execution-worker"]
SCALABLE = ["model-service", "feature-worker", "execution-worker"]
WORKERS = {"feature-worker": "feature", "model-worker": "model", "risk-worker": "risk", "execution-worker": "execution"}
# Debian tools a service may run instead of one of the package's executables: `sh -c` scripts
# (which must call an executable of the image) and socat (the model-port forwarder).
TOOLS = {"sh": None, "socat": "socat"}
runtime_packages = " ".join(" ".join(ins.value) for ins in runtime if ins.cmd.upper() == "RUN")
for name in REQUIRED:
    check(name in services, f"compose: service '{name}' is missing")


def depends_closure(name, seen=None):
    """Every service `name` depends on, directly or through others."""
    seen = set() if seen is None else seen
    depends = services.get(name, {}).get("depends_on") or {}
    for dependency in (depends if isinstance(depends, (list, dict)) else []):
        if dependency not in seen:
            seen.add(dependency)
            depends_closure(dependency, seen)
    return seen


def env_of(service):
    value = service.get("environment") or {}
    if isinstance(value, list):
        value = dict(item.split("=", 1) if "=" in item else (item, "") for item in value)
    return {k: "" if v is None else str(v) for k, v in value.items()}


def published(service):
    """(host part, container port) of each published port, for v1 and v2 config output."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append((str(port.get("published", "")), str(port.get("target", ""))))
        else:
            text = str(port).split("/")[0]
            parts = text.rsplit(":", 2)
            out.append((parts[-2] if len(parts) >= 2 else "", parts[-1]))
    return out


def volume_targets(service):
    out = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            out[volume.get("target")] = (volume.get("type"), volume.get("source"))
        else:
            parts = str(volume).split(":")
            out[parts[1] if len(parts) > 1 else parts[0]] = ("volume" if not parts[0].startswith(("/", ".")) else "bind", parts[0])
    return out


health_ports = {}
for name, service in services.items():
    exe = first_word(service.get("command"))
    command = service.get("command") if isinstance(service.get("command"), list) else str(service.get("command") or "").split()
    if exe == "sh":
        script = " ".join(map(str, command[1:]))
        called = [e for e in EXECUTABLES if re.search(rf"(^|[\s;&|]){re.escape(e)}\s", script)]
        check(called and all(e in copied for e in called),
              f"compose {name}: its sh script calls no executable of the image ({script!r})")
    elif exe in TOOLS:
        check(re.search(rf"\b{TOOLS[exe]}\b", runtime_packages) is not None,
              f"compose {name}: runs {exe}, which the runtime stage of {env['DOCKERFILE']} does not install")
    else:
        check(exe in EXECUTABLES, f"compose {name}: command '{exe}' is not one of {EXECUTABLES}")
        check(exe in copied, f"compose {name}: '{exe}' is not copied into the image by {env['DOCKERFILE']}")
    check(service.get("image") == "trading-pipeline:latest",
          f"compose {name}: image should be trading-pipeline:latest, got {service.get('image')}")
    if name == "keys":
        build = service.get("build") or {}
        check(isinstance(build, dict) and str(build.get("dockerfile", "")).endswith(env["DOCKERFILE"]),
              f"compose {name}: build.dockerfile should be {env['DOCKERFILE']}")
    else:
        # One builder: Compose v2 labels an image with the service that built it, so a second
        # builder of the same tag changes the image id and recreates the services using it.
        check("build" not in service, f"compose {name}: only `keys` builds the image (it has build:)")
        check("keys" in depends_closure(name), f"compose {name}: does not depend (through others) on keys, which builds the image")
    variables = env_of(service)
    mounts = volume_targets(service)
    if exe in WORKERS:
        role = WORKERS[exe]
        check(variables.get("BROKER_ENDPOINT") == "tcp://backend:5555",
              f"compose {name}: BROKER_ENDPOINT should be tcp://backend:5555")
        check(variables.get("CONTROL_ENDPOINT") == "tcp://backend:5556",
              f"compose {name}: CONTROL_ENDPOINT should be tcp://backend:5556")
        # The gateway binds a non-loopback address, so the bus needs CURVE keys (each role its own).
        check(variables.get("CURVE_SECRET_KEY_FILE") == f"/keys/{role}.key",
              f"compose {name}: CURVE_SECRET_KEY_FILE should be /keys/{role}.key")
        check(variables.get("CURVE_SERVER_KEY_FILE") == "/keys/gateway.pub",
              f"compose {name}: CURVE_SERVER_KEY_FILE should be /keys/gateway.pub")
    if exe in WORKERS or exe == "gateway":
        kind, source = mounts.get("/keys", (None, None))
        check(kind == "volume" and source is not None and source.endswith("curve-keys"),
              f"compose {name}: the named volume curve-keys must be mounted at /keys")
        check("keys" in (service.get("depends_on") or {}) or exe != "gateway",
              f"compose {name}: should depend on the keys service")
    if service.get("profiles") or service.get("restart") in ("no", "on-failure"):
        continue  # one-shot jobs (keys, the candle feed): no restart policy or health check needed
    check(service.get("restart") == "unless-stopped", f"compose {name}: restart should be unless-stopped")
    test = " ".join(map(str, (service.get("healthcheck") or {}).get("test") or []))
    listen = re.search(r"TCP-LISTEN:(\d+)", " ".join(map(str, command))) if exe == "socat" else None
    port = "8000" if exe == "gateway" else listen.group(1) if listen else variables.get("HEALTH_PORT", "")
    health_ports[name] = port
    check(port not in ("", "0"), f"compose {name}: no HTTP health port (HEALTH_PORT)")
    # The gateway's check gates the workers' start, so it is liveness; a worker's is readiness.
    probe = "/livez" if exe == "gateway" else "/readyz"
    check(f"127.0.0.1:{port}{probe}" in test, f"compose {name}: healthcheck does not curl :{port}{probe} ({test!r})")
    if name != "backend":
        check(service.get("depends_on", {}).get("backend", {}).get("condition") == "service_healthy"
              if isinstance(service.get("depends_on"), dict) else False,
              f"compose {name}: should depend on backend (condition: service_healthy)")

if "backend" in services:
    backend = services["backend"]
    check(backend.get("container_name") == "backend", "compose backend: container_name should be 'backend'")
    check(any(t == "8000" for _, t in published(backend)), "compose backend: port 8000 is not published")
    exposed = {str(p).split("/")[0] for p in backend.get("expose") or []}
    check({"5555", "5556"} <= exposed, "compose backend: 5555 and 5556 should be exposed")
    variables = env_of(backend)
    check(variables.get("CURVE_SECRET_KEY_FILE") == "/keys/gateway.key"
          and variables.get("CURVE_AUTHORIZED_KEYS_FILE") == "/keys/authorized_keys",
          "compose backend: CURVE_SECRET_KEY_FILE /keys/gateway.key and CURVE_AUTHORIZED_KEYS_FILE /keys/authorized_keys expected")
    check(variables.get("HTTP_HOST") == "0.0.0.0", "compose backend: HTTP_HOST must be 0.0.0.0 in a container")
    check(variables.get("BROKER_BIND") == "tcp://0.0.0.0:5555", "compose backend: BROKER_BIND must be tcp://0.0.0.0:5555")
    check(variables.get("CONTROL_BIND") == "tcp://0.0.0.0:5556", "compose backend: CONTROL_BIND must be tcp://0.0.0.0:5556")
for name in SCALABLE:
    service = services.get(name, {})
    check("container_name" not in service, f"compose {name}: container_name prevents --scale")
    for host, target in published(service):
        host_port = host.split(":")[-1] if host else ""
        check(host_port == "" or "-" in host_port,
              f"compose {name}: fixed host port {host_port}:{target} prevents --scale (use a range)")
keys = services.get("keys", {})
if check(keys, "compose: the one-shot 'keys' service (CURVE key set) is missing"):
    script = " ".join(map(str, keys.get("command") or []))
    check("tradectl keys generate /keys" in script and "authorized_keys" in script,
          "compose keys: should run `tradectl keys generate /keys` only when /keys holds no key set")
    check(volume_targets(keys).get("/keys", (None, None))[0] == "volume", "compose keys: curve-keys must be mounted at /keys")
    check((services.get("backend", {}).get("depends_on") or {}).get("keys", {}).get("condition")
          == "service_completed_successfully", "compose backend: should wait for keys (service_completed_successfully)")
check("curve-keys" in (compose.get("volumes") or {}), "compose: volume curve-keys is not declared")
# Host port 9000 must stay on the model service whatever replicas come and go: a forwarder
# publishes it, the replicas publish nothing.
forwarders = [n for n, s in services.items() if any(t == "9000" and h.split(":")[-1] == "9000" for h, t in published(s))]
check(len(forwarders) == 1, f"compose: exactly one service should publish host port 9000, got {forwarders}")
for name in forwarders:
    text = " ".join(map(str, services[name].get("command") or []))
    check("TCP:model-service:9000" in text, f"compose {name}: host port 9000 should forward to model-service:9000")
if "risk-worker" in services:
    risk = services["risk-worker"]
    kind, source = volume_targets(risk).get("/data", (None, None))
    check(kind == "volume" and source is not None and source.endswith("risk-data"),
          "compose risk-worker: the named volume risk-data must be mounted at /data")
    check(env_of(risk).get("DATA_DIR") == "/data", "compose risk-worker: DATA_DIR must be /data")
    check("risk-data" in (compose.get("volumes") or {}), "compose: volume risk-data is not declared")
if "model-service" in services:
    model_path = env_of(services["model-service"]).get("MODEL_PATH", "")
    check(model_path.startswith("/app/deploy/models/")
          and os.path.isfile(model_path.replace("/app/", "", 1)),
          f"compose model-service: MODEL_PATH {model_path!r} is not a file of deploy/models/")

# --- Kubernetes manifests --------------------------------------------------------------------
k8s_dir = env["K8S_DIR"]
with open(os.path.join(k8s_dir, "kustomization.yaml")) as f:
    kustomization = yaml.safe_load(f)
manifests = sorted(f for f in os.listdir(k8s_dir)
                   if f.endswith((".yaml", ".yml")) and f not in ("kustomization.yaml", "kustomization.yml"))
listed = kustomization.get("resources") or []
check(sorted(listed) == manifests,
      f"{k8s_dir}/kustomization.yaml resources {sorted(listed)} differ from the manifests {manifests}")
namespace = kustomization.get("namespace")

documents = []  # (label, document)
for filename in manifests:
    path = os.path.join(k8s_dir, filename)
    try:
        with open(path) as f:
            loaded = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as error:
        check(False, f"{path}: not valid YAML: {error}")
        continue
    documents += [(path, d) for d in loaded]
if env.get("KUSTOMIZE_RESULT"):
    check(env["KUSTOMIZE_RESULT"] == "ok", f"kubectl kustomize {k8s_dir} failed (see above)")
if env.get("RENDERED"):
    with open(env["RENDERED"]) as f:
        documents += [("kustomize output", d) for d in yaml.safe_load_all(f) if d is not None]

resources = {}
for label, document in documents:
    if not check(isinstance(document, dict) and "kind" in document and "apiVersion" in document,
                 f"{label}: a document without kind/apiVersion"):
        continue
    kind = document["kind"]
    name = (document.get("metadata") or {}).get("name", "?")
    for version in VERSIONS:
        try:
            kv.validate(document, version, strict=True)
            check(True, "")
        except kv.SchemaNotFoundError as error:
            check(False, f"{label}: {kind}/{name}: no schema for kind {kind!r} with apiVersion "
                         f"{document['apiVersion']!r} in Kubernetes {version} (misspelt?)")
        except kv.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            check(False, f"{label}: {kind}/{name} invalid for Kubernetes {version}: {where}: {error.message}")
        except Exception as error:  # VersionNotSupportedError, InvalidSchemaError
            check(False, f"{label}: {kind}/{name}: cannot validate against {version}: {error!r}")
    if label == "kustomize output":
        continue
    resources[(kind, name)] = document
    if kind != "Namespace":
        check((document.get("metadata") or {}).get("namespace") == namespace,
              f"{label}: {kind}/{name} should be in namespace {namespace}")

workloads = {k: v for k, v in resources.items() if k[0] in ("Deployment", "StatefulSet", "DaemonSet")}
for (kind, name), workload in workloads.items():
    pod = workload["spec"]["template"]["spec"]
    pod_security = pod.get("securityContext") or {}
    for container in pod.get("containers", []):
        where = f"k8s {kind}/{name} container {container.get('name')}"
        exe = first_word(container.get("args") if "command" not in container else container.get("command"))
        check(exe in EXECUTABLES and exe in copied, f"{where}: runs '{exe}', not an executable of the image")
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
            check("httpGet" in (container.get(probe) or {}), f"{where}: {probe} with httpGet is missing")
            check(((container.get(probe) or {}).get("httpGet") or {}).get("path") == path, f"{where}: {probe} should GET {path}")
        limits = container.get("resources") or {}
        check(limits.get("requests") and limits.get("limits"), f"{where}: resources requests and limits are required")
        security = container.get("securityContext") or {}
        check(security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, f"{where}: runAsNonRoot is not set")
        check(security.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation should be false")
        check(str(container.get("image", "")).split(":")[0] == "trading-pipeline",
              f"{where}: image should be trading-pipeline (kustomization.yaml `images` retargets it)")

gateway_service = resources.get(("Service", "gateway"))
if check(gateway_service is not None, "k8s: Service 'gateway' is missing"):
    ports = {p.get("port") for p in gateway_service["spec"].get("ports", [])}
    check({8000, 5555, 5556} <= ports, f"k8s Service gateway: ports {sorted(ports)} should include 8000, 5555, 5556")
check(("Service", "model-worker") in resources, "k8s: Service 'model-worker' (health :9000) is missing")
for name in ("gateway", "feature-worker", "model-worker", "execution-worker"):
    check(("Deployment", name) in resources, f"k8s: Deployment '{name}' is missing")
risk = resources.get(("StatefulSet", "risk-worker"))
if check(risk is not None, "k8s: StatefulSet 'risk-worker' is missing"):
    check(risk["spec"].get("replicas") == 1, "k8s StatefulSet risk-worker: replicas must be 1")
    claims = {c["metadata"]["name"] for c in risk["spec"].get("volumeClaimTemplates", [])}
    mounts = {m["name"]: m["mountPath"] for c in risk["spec"]["template"]["spec"]["containers"]
              for m in c.get("volumeMounts", [])}
    check(any(mounts.get(claim) == "/data" for claim in claims),
          "k8s StatefulSet risk-worker: a volumeClaimTemplate must be mounted at /data")
    check(("Service", risk["spec"].get("serviceName")) in resources,
          "k8s StatefulSet risk-worker: its serviceName has no Service")
config = resources.get(("ConfigMap", "trading-config"), {}).get("data", {})
for key, port in (("BROKER_ENDPOINT", 5555), ("CONTROL_ENDPOINT", 5556)):
    check(config.get(key) == f"tcp://gateway:{port}", f"k8s ConfigMap: {key} should be tcp://gateway:{port}")
secret = resources.get(("Secret", "trading-secrets"), {})
secret_keys = set((secret.get("stringData") or {}) | (secret.get("data") or {}))
check({"API_TOKEN", "EXCHANGE_API_KEY", "EXCHANGE_API_SECRET"} <= secret_keys,
      "k8s Secret trading-secrets: API_TOKEN, EXCHANGE_API_KEY, EXCHANGE_API_SECRET expected")
check(not ({"API_TOKEN", "EXCHANGE_API_KEY", "EXCHANGE_API_SECRET"} & set(config)),
      "k8s ConfigMap: secrets do not belong in the ConfigMap")

# --- Prometheus --------------------------------------------------------------------------------
with open(env["PROMETHEUS_CONFIG"]) as f:
    prometheus = yaml.safe_load(f)
scraped = set()
for job in prometheus.get("scrape_configs", []):
    targets = [t for c in job.get("static_configs", []) for t in c.get("targets", [])]
    targets += [f"{n}:{c.get('port')}" for c in job.get("dns_sd_configs", []) for n in c.get("names", [])]
    check(targets, f"prometheus job {job.get('job_name')}: no targets")
    for target in targets:
        host, _, port = target.rpartition(":")
        if check(host in services, f"prometheus job {job.get('job_name')}: {host} is not a compose service"):
            check(health_ports.get(host) == port,
                  f"prometheus job {job.get('job_name')}: {host} serves HTTP on :{health_ports.get(host)}, not :{port}")
            scraped.add(host)
for name in REQUIRED:
    check(name in scraped, f"prometheus: compose service {name} is not scraped")
promtool = env.get("PROMTOOL_RESULT")
if promtool:
    check(promtool == "ok", "prometheus: promtool check config / check rules / test rules failed (see above)")

print(f"   {checks} checks, Kubernetes schemas {', '.join(VERSIONS)} (strict), "
      f"{len(manifests)} manifests, {len(services)} compose services"
      + ("" if promtool else "; promtool not found, Prometheus config checked structurally"))
if errors:
    for message in errors:
        print(f"FAIL {message}", file=sys.stderr)
    sys.exit(1)
