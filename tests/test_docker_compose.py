"""The container stack, checked by parsing: docker-compose.yml, Dockerfile, .env.example and
docker/postgres-init.sql. No Docker engine is needed. docker/postgres-roles.sh, which is plain
bash and psql, is run against this host's PostgreSQL as the postgres image would run it.

Compose interpolates ``${VAR...}`` after parsing the YAML; :func:`interpolate` does the same with
the values of .env.example (as after ``cp .env.example .env``), so the tests see what
``docker compose config`` would show.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import yaml

from tests import test_distributed_airflow as native
from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
CONFIG_PY = ROOT / "etl" / "config.py"
REQUIREMENTS_LOCK = ROOT / "requirements.lock"

AIRFLOW_SERVICES = [
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-worker",
    "airflow-dag-processor",
    "airflow-triggerer",
]
EXPECTED_SERVICES = ["postgres", "redis", *AIRFLOW_SERVICES]
API_CONTAINER_PORT = 8080
REDIS_CONTAINER_PORT = 6379
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"

# $$ (a literal dollar), ${NAME}, ${NAME<op><arg>} with op in :- - :? ? :+ +, or $NAME
_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))")


# --------------------------------------------------------------------------- helpers


def read_env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z_]\w*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip()
    return values


def compose_variables(text: str) -> dict[str, list[tuple[str | None, str | None]]]:
    """Variables referenced in ``text`` -> list of (operator, argument) of each reference."""
    found: dict[str, list[tuple[str | None, str | None]]] = {}
    for match in _VARIABLE.finditer(text):
        if match.group("escaped"):
            continue
        name = match.group("braced") or match.group("bare")
        found.setdefault(name, []).append((match.group("op"), match.group("arg")))
    return found


def interpolate(value, env: dict[str, str]):
    """Compose-style interpolation of every string in ``value``; a required variable that is
    empty in ``env`` gets a placeholder instead of an error."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        is_set = name in env
        current = env.get(name, "")
        if op in (":-", "-"):
            return current if (current if op == ":-" else is_set) else arg
        if op in (":?", "?"):
            return current if (current if op == ":?" else is_set) else f"placeholder_{name.lower()}"
        if op in (":+", "+"):
            return arg if (current if op == ":+" else is_set) else ""
        return current

    return _VARIABLE.sub(replace, value)


def as_env_dict(environment) -> dict[str, str]:
    if environment is None:
        return {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def command_text(command) -> str:
    return command if isinstance(command, str) else " ".join(command)


def command_argv(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def volume_mounts(service: dict) -> list[tuple[str | None, str]]:
    """(source, target) of each volume of an interpolated service."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume.get("source"), volume["target"]))
        else:
            parts = volume.split(":")
            mounts.append((parts[0], parts[1]) if len(parts) > 1 else (None, parts[0]))
    return mounts


def container_ports(service: dict) -> list[int]:
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append(int(port["target"]))
        else:
            ports.append(int(str(port).split(":")[-1].split("/")[0]))
    return ports


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerfile_copy_destinations() -> dict[str, str]:
    """Source folder (as written, without trailing slash) -> absolute folder its contents go to."""
    workdir, copied = "/", {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "WORKDIR":
            workdir = posixpath.join(workdir, rest)
        elif keyword in ("COPY", "ADD"):
            args = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
            args = [arg for arg in args if not arg.startswith("--")]
            *sources, dest = args
            dest = posixpath.normpath(posixpath.join(workdir, dest))
            for source in sources:
                copied[source.rstrip("/")] = dest
    return copied


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def raw_compose() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_example()


@pytest.fixture(scope="module")
def compose(raw_compose, env_example) -> dict:
    return interpolate(yaml.safe_load(raw_compose), env_example)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def common_env(compose) -> dict[str, str]:
    return as_env_dict(compose["x-airflow-common"]["environment"])


def one_shot_services(services: dict) -> set[str]:
    """Services that others wait for to *finish*."""
    return {
        name
        for service in services.values()
        for name, condition in depends_on(service).items()
        if condition == "service_completed_successfully"
    }


# --------------------------------------------------------------------------- services


def test_compose_spec_without_version_key(raw_compose):
    assert "version" not in yaml.safe_load(raw_compose)


@pytest.mark.parametrize("name", EXPECTED_SERVICES)
def test_service_exists(services, name):
    assert name in services


#: the one setting a service may give otherwise: airflow-init reaches the warehouse as its owner
OWNER_OVERRIDES = {"airflow-init": {"STATWH_WAREHOUSE_URL"}}


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_uses_common_image_and_env(compose, services, common_env, name):
    service = services[name]
    env = as_env_dict(service.get("environment"))
    differing = {key for key, value in common_env.items() if env.get(key) != value}
    assert differing == OWNER_OVERRIDES.get(name, set()), f"{name} lacks or overrides common settings: {sorted(differing)}"
    assert service.get("build") == compose["x-airflow-common"]["build"]
    assert service.get("image") == compose["x-airflow-common"]["image"]


@pytest.mark.parametrize(
    "name, argv",
    [
        ("airflow-apiserver", ["airflow", "api-server"]),
        ("airflow-scheduler", ["airflow", "scheduler"]),
        ("airflow-dag-processor", ["airflow", "dag-processor"]),
        ("airflow-triggerer", ["airflow", "triggerer"]),
        ("airflow-worker", ["airflow", "celery", "worker"]),
    ],
)
def test_airflow_component_command(services, name, argv):
    assert command_argv(services[name]["command"]) == argv


def test_long_running_services_have_healthchecks(services):
    one_shot = one_shot_services(services)
    long_running = sorted(set(services) - one_shot)
    assert set(EXPECTED_SERVICES) - {"airflow-init"} <= set(long_running)
    for name in long_running:
        healthcheck = services[name].get("healthcheck") or {}
        assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name} has no healthcheck"
        assert healthcheck["test"] != ["NONE"], f"{name} disables its healthcheck"


def test_service_healthy_dependencies_have_healthchecks(services):
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            if condition == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{name} waits for {dependency}'s healthcheck"


def test_airflow_services_wait_for_healthy_postgres(services):
    for name in AIRFLOW_SERVICES:
        assert depends_on(services[name]).get("postgres") == "service_healthy", name


def test_postgres_healthcheck_uses_pg_isready(services):
    assert "pg_isready" in command_text(services["postgres"]["healthcheck"]["test"])


def test_curl_healthchecks_have_curl_in_the_image(services):
    """python:3.11-slim has no curl: a healthcheck calling it needs the Dockerfile to install it."""
    uses_curl = [
        name for name in AIRFLOW_SERVICES if "curl" in command_text(services[name].get("healthcheck", {}).get("test", ""))
    ]
    if uses_curl:
        runs = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "RUN")
        assert re.search(r"apt-get install[^&;]*\bcurl\b", runs), f"{uses_curl} call curl, the image lacks it"


# --------------------------------------------------------------------------- airflow-init


def test_airflow_init_migrates_then_creates_warehouse(services):
    command = command_text(services["airflow-init"]["command"])
    assert re.search(r"airflow db migrate\s*&&\s*statwh init\b", command), command


@pytest.mark.parametrize("name", [name for name in AIRFLOW_SERVICES if name != "airflow-init"])
def test_airflow_services_wait_for_init(services, name):
    assert depends_on(services[name]).get("airflow-init") == "service_completed_successfully"


def test_airflow_init_is_not_restarted(services):
    assert services["airflow-init"].get("restart", "no") == "no"


# --------------------------------------------------------------------------- Airflow 3 settings


def test_execution_api_url_points_at_api_server(services, common_env):
    url = urlsplit(common_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == "airflow-apiserver" and url.hostname in services
    assert url.port in container_ports(services["airflow-apiserver"])
    assert url.path == "/execution/"


def test_scheduler_waits_for_api_server(services, common_env):
    """With the LocalExecutor the scheduler runs the tasks, which call the Execution API."""
    if common_env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor":
        assert depends_on(services["airflow-scheduler"]).get("airflow-apiserver") == "service_healthy"


@pytest.mark.parametrize(
    "setting",
    ["AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"],
)
def test_shared_secrets_are_required_from_env_file(raw_compose, setting):
    """Shared by all components (else each generates its own) and never defaulted in the file."""
    raw_env = as_env_dict(yaml.safe_load(raw_compose)["x-airflow-common"]["environment"])
    assert re.fullmatch(r"\$\{[A-Za-z_]\w*:\?[^}]*\}", raw_env.get(setting, "")), raw_env.get(setting)


def test_async_metadata_url_does_not_need_asyncpg(common_env):
    """Unset, Airflow derives ``postgresql+asyncpg://`` from the sync URL and every command fails
    at import unless asyncpg is installed."""
    locked = {re.split(r"[=<>\[ ]", line, maxsplit=1)[0].lower()
              for line in REQUIREMENTS_LOCK.read_text(encoding="utf-8").splitlines() if line and line[0].isalnum()}
    if "asyncpg" not in locked:
        url = common_env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", "")
        assert urlsplit(url).scheme == "postgresql+psycopg", url
        assert url == common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_api_server_port_and_healthcheck(services):
    api = services["airflow-apiserver"]
    assert container_ports(api) == [API_CONTAINER_PORT]
    health = urlsplit(re.search(r"http://\S+", command_text(api["healthcheck"]["test"])).group(0).rstrip("\"'"))
    assert health.port == API_CONTAINER_PORT
    assert health.path == "/api/v2/monitor/health"


# --------------------------------------------------------------------------- statwarehouse settings


def statwh_variables_read_by_config() -> set[str]:
    return set(re.findall(r'"(STATWH_[A-Z_]+)"', CONFIG_PY.read_text(encoding="utf-8")))


def test_config_py_reads_statwh_variables():
    assert len(statwh_variables_read_by_config()) >= 3


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_statwh_settings_are_set(services, name):
    env = as_env_dict(services[name].get("environment"))
    missing = sorted(var for var in statwh_variables_read_by_config() if not env.get(var))
    assert not missing, f"{name} does not set {missing}"


def statwh_variables_read_by_etl() -> set[str]:
    """Every STATWH_ variable the package reads (settings, file-size limit, alert channels)."""
    return {name for path in (ROOT / "etl").glob("*.py")
            for name in re.findall(r'"(STATWH_[A-Z_]+)"', path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_every_statwh_variable_reaches_the_containers(services, name):
    """Optional settings (alerts, limits) may be empty, but must be passed through from .env:
    a variable the compose file does not name never reaches the code."""
    read = statwh_variables_read_by_etl()
    assert {"STATWH_SMTP_HOST", "STATWH_ALERT_WEBHOOK_URL", "STATWH_MAX_FILE_BYTES"} <= read
    missing = sorted(read - set(as_env_dict(services[name].get("environment"))))
    assert not missing, f"{name} does not pass {missing}"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_file_folders_are_mounted(services, name):
    env = as_env_dict(services[name]["environment"])
    mounts = dict((target, source) for source, target in volume_mounts(services[name]))
    for var in ("STATWH_LANDING_DIR", "STATWH_ARCHIVE_DIR", "STATWH_QUARANTINE_DIR"):
        folder = posixpath.normpath(env[var])
        assert mounts.get(folder), f"{name}: {var}={folder} is not a mounted volume"


def test_file_folders_are_distinct_on_the_host(services):
    sources = {target: source for source, target in volume_mounts(services["airflow-scheduler"])}
    env = as_env_dict(services["airflow-scheduler"]["environment"])
    folders = [sources[env[var]] for var in ("STATWH_LANDING_DIR", "STATWH_ARCHIVE_DIR", "STATWH_QUARANTINE_DIR")]
    assert len(set(folders)) == 3, folders


@pytest.mark.parametrize(
    "source, setting",
    [
        ("dags", "AIRFLOW__CORE__DAGS_FOLDER"),
        ("expectations", "STATWH_EXPECTATIONS_DIR"),
        ("warehouse_sql", "STATWH_SQL_DIR"),
    ],
)
def test_env_points_where_dockerfile_copies(common_env, source, setting):
    copied = dockerfile_copy_destinations()
    assert source in copied, f"the Dockerfile does not copy {source}/"
    assert posixpath.normpath(common_env[setting]) == copied[source]


def test_dockerfile_installs_locked_requirements_and_package():
    runs = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "RUN")
    assert re.search(r"uv pip install --system\b.*-r requirements\.lock", runs)
    assert re.search(r"uv pip install --system\b.*--no-deps \.(\s|$)", runs)
    # Python writes no .pyc at run time there: both installs must compile, or each task process
    # compiles Great Expectations from source again
    environment = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in environment
    installs = re.findall(r"uv pip install .*?(?=uv pip install|&&|$)", runs)
    assert len(installs) == 2 and all("--compile-bytecode" in i for i in installs), installs
    copied = dockerfile_copy_destinations()
    for needed in ("requirements.lock", "pyproject.toml", "etl"):
        assert needed in copied, f"the Dockerfile does not copy {needed}"


# --------------------------------------------------------------------------- PostgreSQL


def database_urls(common_env) -> dict[str, str]:
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
        "STATWH_WAREHOUSE_URL": common_env["STATWH_WAREHOUSE_URL"],
    }


def test_database_urls_point_at_postgres_service(services, common_env):
    """Airflow's metadata and `statwh init` as the superuser that owns both databases; the
    tasks' warehouse URL as the loader login the postgres service is told to create."""
    postgres_env = as_env_dict(services["postgres"]["environment"])
    owner = (postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_PASSWORD"])
    loader = (postgres_env["STATWH_LOADER_USER"], postgres_env["STATWH_LOADER_PASSWORD"])
    init_env = as_env_dict(services["airflow-init"]["environment"])
    for setting, raw_url, login in [
        ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], owner),
        ("STATWH_WAREHOUSE_URL", common_env["STATWH_WAREHOUSE_URL"], loader),
        ("STATWH_WAREHOUSE_URL of airflow-init", init_env["STATWH_WAREHOUSE_URL"], owner),
    ]:
        url = urlsplit(raw_url)
        assert url.scheme == "postgresql+psycopg", setting
        assert (url.hostname, url.port) == ("postgres", 5432), setting
        assert (url.username, url.password) == login, setting
    assert owner[0] != loader[0], "the tasks must not run as the schema's owner"
    init_url, tasks_url = urlsplit(init_env["STATWH_WAREHOUSE_URL"]), urlsplit(common_env["STATWH_WAREHOUSE_URL"])
    assert init_url.path == tasks_url.path, "airflow-init prepares the database the tasks load"


def test_airflow_and_warehouse_use_different_databases(common_env):
    names = [urlsplit(url).path.lstrip("/") for url in database_urls(common_env).values()]
    assert len(set(names)) == 2 and all(names), names


def test_postgres_init_script_creates_both_databases(services, common_env):
    mounted = [
        source for source, target in volume_mounts(services["postgres"]) if target.startswith("/docker-entrypoint-initdb.d/")
    ]
    assert mounted, "no init script mounted into /docker-entrypoint-initdb.d/"
    script = (ROOT / mounted[0]).resolve()
    assert script.is_file(), f"{script} does not exist"
    sql = re.sub(r"--[^\n]*", "", script.read_text(encoding="utf-8"))
    created = {name.lower() for name in re.findall(r"CREATE\s+DATABASE\s+\"?([A-Za-z_]\w*)", sql, re.IGNORECASE)}
    wanted = {urlsplit(url).path.lstrip("/").lower() for url in database_urls(common_env).values()}
    assert wanted <= created, f"init script creates {sorted(created)}, the URLs use {sorted(wanted)}"


def init_scripts(services) -> dict[str, Path]:
    """Target name in /docker-entrypoint-initdb.d/ -> the repository's file, in the order run."""
    return dict(sorted((posixpath.basename(target), (ROOT / source).resolve())
                       for source, target in volume_mounts(services["postgres"])
                       if target.startswith("/docker-entrypoint-initdb.d/")))


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_postgres_roles_script_makes_the_tasks_login_a_loader(services, engine):
    """docker/postgres-roles.sh, run as the postgres image runs it (bash, as POSTGRES_USER, with
    the service's environment) against this host's PostgreSQL: the login of the tasks' URL
    exists, can log in, belongs to statwh_loader and not to the owner, and can work in a
    warehouse `statwh init` prepared; running the script again changes nothing."""
    scripts = init_scripts(services)
    assert list(scripts) == ["10-databases.sql", "20-roles.sh"], scripts
    roles_script = scripts["20-roles.sh"]
    postgres_env = as_env_dict(services["postgres"]["environment"])
    admin = sa.engine.make_url(PG_ADMIN_URL)
    login = f"{postgres_env['STATWH_LOADER_USER']}_{uuid.uuid4().hex[:8]}"  # the cluster is shared
    env = {"PATH": "/usr/bin:/bin", "PGHOST": admin.host or "127.0.0.1", "PGPORT": str(admin.port or 5432),
           "POSTGRES_USER": admin.username, "STATWH_LOADER_USER": login,
           "STATWH_LOADER_PASSWORD": "it's-a-secret"}  # a quote: the password is quoted by format(%L)
    try:
        for _ in range(2):
            done = subprocess.run(["bash", str(roles_script)], env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        with engine.connect() as conn:
            role = conn.execute(sa.text(
                "SELECT rolcanlogin, rolsuper, pg_has_role(rolname, 'statwh_loader', 'MEMBER'), rolconfig "
                "FROM pg_roles WHERE rolname = :r"), {"r": login}).one()
        assert tuple(role) == (True, False, True, ["idle_in_transaction_session_timeout=15min"])
        tasks = sa.create_engine(engine.url.set(username=login), poolclass=sa.pool.NullPool)
        with tasks.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM dw.dim_month")).scalar_one() > 0
            assert conn.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar_one() == "15min"
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
                conn.exec_driver_sql("CREATE TABLE dw.mine (x INTEGER)")
        tasks.dispose()
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{login}"')


def test_postgres_data_is_a_named_volume(compose, services):
    data = [source for source, target in volume_mounts(services["postgres"]) if target == "/var/lib/postgresql/data"]
    assert data and data[0] in (compose.get("volumes") or {}), data


# --------------------------------------------------------------------------- .env.example


def test_every_compose_variable_is_in_env_example(raw_compose, env_example):
    used = compose_variables(raw_compose)
    assert used, "the compose file references no variables"
    missing = sorted(set(used) - set(env_example))
    assert not missing, f"not in .env.example: {missing}"


def test_env_example_has_no_stale_variables(raw_compose, env_example):
    stale = sorted(set(env_example) - set(compose_variables(raw_compose)))
    assert not stale, f".env.example documents variables the compose file does not use: {stale}"


def test_env_example_values_match_compose_defaults(raw_compose, env_example):
    for name, references in compose_variables(raw_compose).items():
        for op, default in references:
            if op in (":-", "-") and env_example.get(name):
                assert env_example[name] == default, f"{name}: .env.example says {env_example[name]!r}, compose {default!r}"


def test_env_example_leaves_required_variables_empty(raw_compose, env_example):
    """Required variables are secrets: .env.example must not ship a usable value."""
    for name, references in compose_variables(raw_compose).items():
        if any(op in (":?", "?") for op, _ in references):
            assert env_example.get(name) == "", f"{name} is required but .env.example gives it a value"


def test_env_example_comments_every_variable():
    """Each assignment has its own comment on the line above (a ``# --- section ---`` header does not count)."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if re.match(r"\s*[A-Za-z_]\w*=", line):
            above = lines[index - 1].strip() if index else ""
            documented = re.match(r"#\s*\w", above) and not re.match(r"#\s*-{3}", above)
            assert documented, f"{line.split('=')[0]} has no comment line above it"


def test_env_example_severity_lists_are_accepted_by_the_alert_settings(env_example):
    """Every severity list .env.example shows for an alert channel (the allowed ones in its
    comment, the default, the value) is what etl.alerts accepts: a steward who copies a
    documented list must not get a ValueError that keeps every alert from going out."""
    from etl.alerts import SEVERITIES, AlertSettings

    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    names = [name for name in env_example if name.endswith("_SEVERITIES")]
    assert sorted(names) == ["STATWH_ALERT_EMAIL_SEVERITIES", "STATWH_ALERT_WEBHOOK_SEVERITIES"]
    for name in names:
        comment = lines[lines.index(f"{name}={env_example[name]}") - 1]
        allowed = re.search(r"from: ([\w, ]+?) \(", comment)
        default = re.search(r"\(default: ([^)]*)\)", comment)
        assert allowed and default, f"{name}: the comment should read '..., from: a, b (default: a,b).': {comment}"
        assert [s.strip() for s in allowed.group(1).split(",")] == list(SEVERITIES), comment
        for documented in (allowed.group(1), default.group(1), env_example[name]):
            AlertSettings.from_env({name: documented})  # raises on a severity the code does not know


# --------------------------------------------------------------------------- CeleryExecutor


def test_executor_is_celery(common_env):
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_broker_url_points_at_redis_service(services, common_env):
    url = urlsplit(common_env["AIRFLOW__CELERY__BROKER_URL"])
    assert url.scheme == "redis"
    assert url.hostname == "redis" and url.hostname in services
    assert (url.port or REDIS_CONTAINER_PORT) == REDIS_CONTAINER_PORT
    assert re.fullmatch(r"(/\d+)?", url.path), url.path  # a database number, or none (0)


def test_result_backend_is_the_airflow_metadata_database(common_env):
    """Celery's database result backend on the metadata database, with the same psycopg driver."""
    backend = common_env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend == native.result_backend_url(common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert urlsplit(backend).scheme == "db+postgresql+psycopg"


def test_redis_service_is_healthchecked_and_not_published(services):
    redis = services["redis"]
    assert command_argv(redis["healthcheck"]["test"])[-2:] == ["redis-cli", "ping"]
    assert not redis.get("ports"), "the broker has no password: keep it off the host's ports"


def test_worker_is_scalable(compose, services):
    """`docker compose up --scale airflow-worker=N` needs no fixed name and no host ports."""
    for where in (services["airflow-worker"], compose["x-airflow-common"]):
        assert "container_name" not in where
        assert not where.get("ports")


@pytest.mark.parametrize("name", ["airflow-worker", "airflow-scheduler"])
def test_celery_components_wait_for_healthy_redis_and_postgres(services, name):
    deps = depends_on(services[name])
    assert deps.get("redis") == "service_healthy", name
    assert deps.get("postgres") == "service_healthy", name


def test_workers_wait_for_api_server(services, common_env):
    """With the CeleryExecutor the workers run the tasks, which call the Execution API."""
    if common_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor":
        assert depends_on(services["airflow-worker"]).get("airflow-apiserver") == "service_healthy"


def test_worker_healthcheck_pings_its_own_celery_node(services):
    """As in Airflow's own compose file: the worker answers a ping sent to celery@<hostname>,
    the node name a worker started without --celery-hostname takes. The native distributed
    test runs this very command against its workers."""
    test = command_argv(services["airflow-worker"]["healthcheck"]["test"])
    assert test[0] == "CMD-SHELL"
    argv = shlex.split(test[1])
    assert argv[:3] == ["celery", "--app", CELERY_APP]
    assert argv[3:5] == ["inspect", "ping"]
    assert argv[argv.index("-d") + 1] == "celery@${HOSTNAME}"


# ----------------------------------------------------------------- the same settings as the native test


@pytest.fixture(scope="module")
def native_env() -> dict[str, str]:
    """What tests/test_distributed_airflow.py gives its processes: its own metadata-database URL
    builder and broker URL (so the scheme checks below compare with what the native run really
    uses), placeholders for the per-run values."""
    return native.airflow_environment(
        airflow_home=Path("/tmp/airflow"), metadata_url=native._pg_url("statwh_af_example"),
        broker_url=native.REDIS_URL, api_port=8080, queue="q", jwt_secret="j", api_secret_key="k")


def test_native_test_sets_the_distributed_settings(native_env):
    assert set(native.DISTRIBUTED_SETTINGS) <= set(native_env)


@pytest.mark.parametrize("setting", native.DISTRIBUTED_SETTINGS)
def test_compose_sets_the_distributed_settings_of_the_native_test(common_env, setting):
    assert common_env.get(setting), f"the native distributed test sets {setting}, docker-compose.yml does not"


def test_native_test_and_compose_use_the_same_executor(common_env, native_env):
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == native_env["AIRFLOW__CORE__EXECUTOR"]


def test_every_native_airflow_setting_is_in_compose(common_env, native_env):
    """Whatever the native test needs to run Airflow distributed, the containers get too
    (save the per-run queue, the result bookkeeping and the scheduled-run switch)."""
    missing = sorted(set(native_env) - set(native.TEST_ONLY_SETTINGS) - set(common_env))
    assert not missing, f"set by tests/test_distributed_airflow.py, not by docker-compose.yml: {missing}"


def test_every_compose_celery_setting_is_exercised_by_the_native_test(common_env, native_env):
    """Concurrency is the one Celery setting the native test gives on the command line instead."""
    celery = {key for key in common_env if key.startswith("AIRFLOW__CELERY")} - {"AIRFLOW__CELERY__WORKER_CONCURRENCY"}
    assert celery <= set(native_env), sorted(celery - set(native_env))


@pytest.mark.parametrize("setting", ["AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
                                     "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"])
def test_native_test_and_compose_use_the_same_url_schemes(common_env, native_env, setting):
    assert urlsplit(common_env[setting]).scheme == urlsplit(native_env[setting]).scheme
