"""What every aitip simulator shares: the scenario it is given, the policy it plays, the perturbations it applies
and the result file it writes.

aitip runs a simulator as `python <script>` in a sandbox (no network, read-only Python, writable working
directory). The built-in templates use sim_runner.py; a custom simulator is any script that follows the same
contract with this module:

    import time
    import aitip_sim

    spec = aitip_sim.scenario()                     # the scenario JSON aitip wrote (seeds, max_steps, ...)
    act = aitip_sim.policy()                        # the registered MLflow model, as batch -> actions
    recorder = aitip_sim.Recorder()
    start = time.perf_counter()
    for seed in spec["seeds"]:
        episode = recorder.episode(seed, max_steps=spec["max_steps"], dt=0.02)
        ...                                         # reset the simulation with `seed`
        while ...:
            action = act(observations)[0]           # observations: a 2-D array (batch x dims)
            ...                                     # advance the simulation
            episode.step(reward, cost)              # cost: safety-gymnasium style, 0 when nothing unsafe happened
            episode.event("collision")              # optional, at the current step
        episode.end("terminated")                   # or "truncated" when time ran out
    recorder.write(seconds=time.perf_counter() - start)

Batching all running episodes into one `act(...)` call per step is what makes a simulation fast: each call is
one MLflow `predict`. The server scores only the result file, so a simulator that crashes writes nothing and
fails the job.

Files and their environment variables (relative to the working directory):
    AITIP_SCENARIO_FILE  the scenario to read         (default scenario.json)
    AITIP_MODEL_DIR      the MLflow model to play      (default model)
    AITIP_RESULT_FILE    the result to write           (default result.json)
    AITIP_FRAMES_FILE    the frames to write, if any   (default frames.json)
    AITIP_POLICY_SOCKET  where the model is served: when set, policy() asks the model there instead of loading it

Where the executor can, aitip runs the model in a sandbox of its own beside the simulator's (`serve_policy` there,
AITIP_POLICY_SOCKET here): the model's code then cannot touch the simulator, its records or its result. Each
message on that socket is a 4-byte big-endian length and that many bytes of JSON: {"batch": [[...], ...]} one way,
{"predictions": [...]} or {"error": "..."} back.

Frames: `episode.frame(image)` records an RGB image (height x width x 3, uint8) at the current step, kept as a
PNG; the recorder keeps at most MAX_FRAMES of them (MAX_FRAME_BYTES in all) and writes them beside the result:
    {"format": 1, "frames": [{"seed": 0, "step": 10, "time": 0.2, "png": "<base64>"}], "dropped": 0}

The result file (format 1):
    {"format": 1,
     "episodes": [{"seed": 3, "steps": 500, "max_steps": 500, "return": 500.0, "cost": 0.0, "completion": 1.0,
                   "ended": "truncated" | "terminated" | "limit",
                   "events": [{"type": "safe_zone_exit", "step": 120, "time": 2.4}], "events_dropped": 0}],
     "steps": 10000, "seconds": 0.83}
`ended` is "terminated" when the environment ended the episode (a failure or a goal), "truncated" when its time
ran out (the environment's limit or the scenario's max_steps), "limit" when the simulator stopped it for a budget
of its own. `steps` counts every environment step of the run and `seconds` is the wall time of the stepping loop,
so the server can report steps per second. The server also wants exactly one episode per seed of the scenario,
0 <= steps <= max_steps, finite numbers, cost >= 0 and event types of 1-63 lowercase letters, digits or '_':
Recorder and Episode refuse whatever breaks these as it happens (a ValueError), except a missing seed.
"""
import base64
import json
import math
import os
import re
import socket
import struct
import sys
import tempfile
import time
import traceback
import zlib

import numpy as np

FORMAT = 1
MAX_EVENTS = 1000
MAX_FRAMES = 200
MAX_FRAME_BYTES = 6 << 20
MAX_MESSAGE = 64 << 20  # the longest message either side of the policy socket reads
ENDINGS = ("truncated", "terminated", "limit")
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,62}")  # at most 63 characters, as the server allows
PERTURBATIONS = ("observation_noise", "sensor_dropout", "push", "initial_state_noise")


class PolicyError(ValueError):
    """The model's predictions cannot be read as one action per observation."""


def _path(variable, default):
    return os.environ.get(variable) or default


def scenario():
    """The scenario aitip wrote for this run, as a dict."""
    with open(_path("AITIP_SCENARIO_FILE", "scenario.json"), encoding="utf-8") as handle:
        spec = json.load(handle)
    if not isinstance(spec, dict):
        raise ValueError("the scenario file must hold a JSON object")
    return spec


def policy(model_dir=None, action_size=None):
    """The registered MLflow model as a function from a 2-D batch of observations to actions: a 1-D int array for a
    discrete action space (`action_size` None), a float array of shape (batch, action_size) for a continuous one.
    The model sees a DataFrame with columns obs_0, obs_1, ...; one `predict` per call. It is asked over
    $AITIP_POLICY_SOCKET when that is set (and no `model_dir` is named), else loaded here from `model_dir`
    ($AITIP_MODEL_DIR, or ./model)."""
    address = os.environ.get("AITIP_POLICY_SOCKET")
    if address and model_dir is None:
        return _remote_policy(address, action_size)
    predict = _predictor(model_dir)

    def act(batch):
        batch = _batch(batch)
        return _actions(predict(batch), len(batch), action_size)

    return act


def _batch(batch):
    batch = np.asarray(batch, dtype=np.float64)
    if batch.ndim != 2:
        raise ValueError(f"the policy takes a 2-D batch of observations, not an array of shape {batch.shape}")
    return batch


def _predictor(model_dir):
    """The model's predict on a 2-D float batch, as a DataFrame with the column types its signature asks for."""
    # A sandboxed job has no network: MLflow's usage telemetry would only try in vain (and write to ~/.config).
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.pyfunc  # imported here so that the scenario and recorder helpers work without MLflow
    import pandas as pd

    model = mlflow.pyfunc.load_model(model_dir or _path("AITIP_MODEL_DIR", "model"))
    types = _column_types(model)

    def predict(batch):
        frame = pd.DataFrame(batch, columns=[f"obs_{i}" for i in range(batch.shape[1])])
        if types:
            frame = frame.astype({column: types[column] for column in frame.columns if column in types})
        return model.predict(frame)

    return predict


def _send(connection, message):
    data = json.dumps(message, separators=(",", ":")).encode()
    connection.sendall(struct.pack(">I", len(data)) + data)


def _receive(connection):
    """One message, or None when the other side closed the connection between messages."""
    header = _exactly(connection, 4, eof_ok=True)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    if length > MAX_MESSAGE:
        raise PolicyError(f"a message of {length} bytes on the policy socket is over the limit of {MAX_MESSAGE}")
    try:
        return json.loads(_exactly(connection, length))
    except (ValueError, RecursionError) as error:
        raise PolicyError(f"a message on the policy socket is not JSON ({error})") from None


def _exactly(connection, count, eof_ok=False):
    chunks, received = [], 0
    while received < count:
        chunk = connection.recv(min(count - received, 1 << 20))
        if not chunk:
            if eof_ok and received == 0:
                return None
            raise PolicyError("the policy socket closed in the middle of a message")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _seconds(variable, default):
    try:
        seconds = float(os.environ.get(variable) or default)
    except ValueError:
        seconds = default
    return seconds if seconds > 0 else default


def _remote_policy(address, action_size):
    """The simulator's side of the policy socket: waits for the model's sandbox to serve, then asks it once per
    call. Whatever comes back is checked as a loaded model's answer would be."""
    deadline = time.monotonic() + _seconds("AITIP_POLICY_WAIT", 300)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            connection.connect(address)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise PolicyError("the model's sandbox did not serve the model in time (its output follows this "
                                  "scenario's in the log, each line marked [companion])") from None
            time.sleep(0.05)
    answer_within = _seconds("AITIP_POLICY_TIMEOUT", 120)
    connection.settimeout(answer_within)

    def act(batch):
        batch = _batch(batch)
        try:
            _send(connection, {"batch": batch.tolist()})
            reply = _receive(connection)
        except socket.timeout:
            raise PolicyError(f"the model did not answer within {answer_within:g} s") from None
        except OSError as error:
            raise PolicyError(f"the model's sandbox went away ({error})") from None
        if not isinstance(reply, dict) or ("predictions" in reply) == ("error" in reply):
            raise PolicyError("the model's sandbox answered something other than predictions or an error")
        if "error" in reply:
            raise PolicyError(str(reply["error"])[:2000])
        return _actions(reply["predictions"], len(batch), action_size)

    return act


def _plain(output):
    """Predictions as JSON can carry them (numbers, nested lists), or a PolicyError."""
    if hasattr(output, "to_numpy"):  # a DataFrame or a Series
        output = output.to_numpy()
    try:
        return np.asarray(output, dtype=np.float64).tolist()
    except (TypeError, ValueError) as error:
        raise PolicyError(f"the model returned predictions that are not numbers ({error})") from None


def serve_policy(address=None, model_dir=None):
    """The model's side of the policy socket (run by aitip in the model's own sandbox): loads the model, then
    answers each batch with its predictions, forever. A model that cannot be loaded is reported to the simulator
    as the answer to its first batch, so the scenario fails saying why."""
    address = address or os.environ["AITIP_POLICY_SOCKET"]
    failure = None
    try:
        predict = _predictor(model_dir)
    except ImportError as error:
        traceback.print_exc()
        failure = (f"the model could not be loaded: {error}" if (error.name or "").split(".")[0] != "mlflow" else
                   "the simulation runner needs mlflow in the job's Python (pip install mlflow-skinny)")
    except Exception as error:  # the model's own code: whatever it raises is the reason
        traceback.print_exc()
        failure = f"the model could not be loaded: {type(error).__name__}: {error}"[:2000]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(address):
        os.unlink(address)
    server.bind(address)
    server.listen(1)
    print(f"aitip: serving the model on {address}", flush=True)
    while True:
        connection, _ = server.accept()
        with connection:
            while True:
                try:
                    request = _receive(connection)
                except PolicyError as error:
                    print(f"aitip: {error}", flush=True)
                    break
                if request is None:
                    break
                if failure:
                    _send(connection, {"error": failure})
                    continue
                try:
                    _send(connection, {"predictions": _plain(predict(_batch(request["batch"])))})
                except PolicyError as error:
                    _send(connection, {"error": str(error)})
                except Exception as error:  # the model's predict
                    traceback.print_exc()
                    _send(connection, {"error": f"the model's predict failed: {type(error).__name__}: {error}"[:2000]})


def _column_types(model):
    """The numpy type of each column the model's input signature names. MLflow refuses a float64 column where the
    signature says float (float32), which is what a policy trained on float32 observations declares."""
    schema = model.metadata.get_input_schema()
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return {}
    return {spec.name: spec.type.to_numpy() for spec in schema.inputs if hasattr(spec.type, "to_numpy")}


def _actions(output, rows, action_size):
    """The model's output as actions, or a PolicyError that says what was wrong with it."""
    if hasattr(output, "to_numpy"):  # a DataFrame or a Series
        output = output.to_numpy()
    try:
        values = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise PolicyError(f"the model returned predictions that are not numbers ({error})") from None
    if values.ndim == 0 or len(values) != rows:
        count = 1 if values.ndim == 0 else len(values)
        raise PolicyError(f"the model returned {count} predictions for {rows} observations")
    values = values.reshape(rows, -1)
    if not np.isfinite(values).all():
        raise PolicyError("the model returned a NaN or infinite action")
    if action_size is not None:
        if values.shape[1] != action_size:
            raise PolicyError(f"the model returned {values.shape[1]} values per observation, expected {action_size}")
        return values
    if values.shape[1] != 1:
        raise PolicyError(f"the model returned {values.shape[1]} values per observation, expected one discrete action")
    actions = values[:, 0]
    if not np.array_equal(actions, np.round(actions)):
        raise PolicyError("the model returned a fractional action where a discrete one (an integer) was expected")
    return actions.astype(np.int64)


def _number(config, key, low=0.0, high=math.inf):
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        bounds = f"between {low:g} and {high:g}" if high < math.inf else f"a number >= {low:g}"
        raise ValueError(f"perturbation {key} must be {bounds}, not {value!r}")
    return float(value)


class Perturbations:
    """One episode's perturbations, drawn from that episode's seeded `rng` so that a seed replays exactly.

    `config` is a scenario's `perturbations` object; every key is optional:
        observation_noise    sigma >= 0 of Gaussian noise added to what the model sees
        sensor_dropout       probability 0-1 per step that the model sees its previous observation again
        push                 {"magnitude": m >= 0, "every": k >= 1}: an impulse of +-m every k steps
        initial_state_noise  s >= 0: uniform +-s added to the state after reset
    The model's view (noise, dropout) is applied here; where a push or initial offset lands in the state is the
    simulator's choice (its push axis)."""

    def __init__(self, config, rng):
        config = {} if config is None else config
        if not isinstance(config, dict):
            raise ValueError("perturbations must be a JSON object")
        unknown = sorted(set(config) - set(PERTURBATIONS))
        if unknown:
            raise ValueError(f"unknown perturbation {unknown[0]!r} (known: {', '.join(PERTURBATIONS)})")
        self.rng = rng
        self.noise = _number(config, "observation_noise") if "observation_noise" in config else 0.0
        self.dropout = _number(config, "sensor_dropout", high=1.0) if "sensor_dropout" in config else 0.0
        self.initial = _number(config, "initial_state_noise") if "initial_state_noise" in config else 0.0
        self.push_magnitude, self.push_every = 0.0, 0
        if "push" in config:
            push = config["push"]
            if not isinstance(push, dict) or set(push) != {"magnitude", "every"}:
                raise ValueError('perturbation push must be {"magnitude": m, "every": k}')
            self.push_magnitude = _number(push, "magnitude")
            every = push["every"]
            if isinstance(every, bool) or not isinstance(every, int) or every < 1:
                raise ValueError(f"perturbation push.every must be an integer >= 1, not {every!r}")
            self.push_every = every
        self._seen = None

    def observe(self, observation):
        """What the model sees of `observation` this step: the previous view again when the sensor drops out,
        the observation plus noise otherwise."""
        if self._seen is not None and self.dropout > 0 and self.rng.random() < self.dropout:
            return self._seen
        seen = np.asarray(observation, dtype=np.float64).ravel()
        if self.noise > 0:
            seen = seen + self.rng.normal(0.0, self.noise, size=seen.shape)
        self._seen = seen
        return seen

    def push(self, steps_taken):
        """The impulse to apply to the push axis before the next step (after every `every` steps), else 0."""
        if self.push_every and steps_taken > 0 and steps_taken % self.push_every == 0:
            return self.push_magnitude if self.rng.random() < 0.5 else -self.push_magnitude
        return 0.0

    def initial_offset(self, size):
        """Uniform +-initial_state_noise for each of `size` state variables (zeros when there is none)."""
        if self.initial == 0:
            return np.zeros(size)
        return self.rng.uniform(-self.initial, self.initial, size=size)


def _finite(name, value):
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value}")
    return value


class Episode:
    """One episode's record: add each step's reward and cost, its events, then end it."""

    def __init__(self, seed, max_steps, dt):
        self.seed, self.max_steps, self.dt = int(seed), int(max_steps), _finite("dt", dt)
        if self.max_steps < 1 or self.dt < 0:
            raise ValueError(f"an episode needs max_steps >= 1 and dt >= 0, not {max_steps} and {dt}")
        self.steps, self.total_return, self.cost = 0, 0.0, 0.0
        self.events, self.events_dropped = [], 0
        self.ended, self.completion = None, None
        self.recorder = None

    def step(self, reward, cost=0.0):
        reward, cost = _finite("a step's reward", reward), _finite("a step's cost", cost)
        if cost < 0:
            raise ValueError(f"a step's cost must be 0 or more, not {cost}")
        if self.steps >= self.max_steps:
            raise ValueError(f"the episode of seed {self.seed} already took its max_steps ({self.max_steps})")
        self.steps += 1
        self.total_return += reward
        self.cost += cost

    def event(self, kind):
        """`kind` happened at the current step (the first MAX_EVENTS are kept, the rest counted)."""
        if not isinstance(kind, str) or not EVENT_TYPE.fullmatch(kind):
            raise ValueError(f"event type {kind!r} must be 1-63 lowercase letters, digits or '_', from a letter on")
        if len(self.events) >= MAX_EVENTS:
            self.events_dropped += 1
            return
        self.events.append({"type": kind, "step": self.steps, "time": round(self.steps * self.dt, 9)})

    def frame(self, image):
        """Keeps `image` (RGB, height x width x 3, uint8) as this episode's frame at the current step; False when
        the recorder already holds as many frames (or bytes of them) as it keeps."""
        return self.recorder is not None and self.recorder.keep_frame(self, png(image))

    def end(self, ended, completion=None):
        """Closes the episode; `completion` (0-1) defaults to the share of max_steps it survived."""
        if ended not in ENDINGS:
            raise ValueError(f"an episode ends {' or '.join(ENDINGS)}, not {ended!r}")
        if completion is None:
            completion = self.steps / self.max_steps
        self.ended, self.completion = ended, min(1.0, max(0.0, _finite("completion", completion)))

    def as_json(self):
        if self.ended is None:
            raise ValueError(f"the episode of seed {self.seed} was never ended")
        return {"seed": self.seed, "steps": self.steps, "max_steps": self.max_steps, "return": self.total_return,
                "cost": self.cost, "completion": self.completion, "ended": self.ended, "events": self.events,
                "events_dropped": self.events_dropped}


class Recorder:
    """Collects a run's episodes and writes the result file."""

    def __init__(self):
        self.episodes = []
        self.frames, self.frames_dropped, self.frame_bytes = [], 0, 0

    def episode(self, seed, max_steps, dt=1.0):
        """A new episode record; `dt` (seconds per step) dates its events."""
        episode = Episode(seed, max_steps, dt)
        if any(recorded.seed == episode.seed for recorded in self.episodes):
            raise ValueError(f"seed {episode.seed} already has an episode")
        episode.recorder = self
        self.episodes.append(episode)
        return episode

    def keep_frame(self, episode, data):
        if len(self.frames) >= MAX_FRAMES or self.frame_bytes + len(data) > MAX_FRAME_BYTES:
            self.frames_dropped += 1
            return False
        self.frame_bytes += len(data)
        self.frames.append({"seed": episode.seed, "step": episode.steps, "time": round(episode.steps * episode.dt, 9),
                            "png": base64.b64encode(data).decode()})
        return True

    def write(self, seconds, path=None):
        """Writes the result atomically (a reader never sees half a file); `seconds` is the stepping loop's
        wall time."""
        result = {"format": FORMAT, "episodes": [episode.as_json() for episode in self.episodes],
                  "steps": sum(episode.steps for episode in self.episodes), "seconds": _finite("seconds", seconds)}
        if self.frames or self.frames_dropped:
            frames = {"format": FORMAT, "frames": self.frames, "dropped": self.frames_dropped}
            _write_atomically(_path("AITIP_FRAMES_FILE", "frames.json"), json.dumps(frames, separators=(",", ":")))
        _write_atomically(path or _path("AITIP_RESULT_FILE", "result.json"),
                          json.dumps(result, allow_nan=False, separators=(",", ":")))


def _write_atomically(path, text):
    """A reader never sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".result-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the result from a collector of another user
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def png(image):
    """An RGB image (height x width x 3, uint8) as PNG bytes, with nothing but numpy and zlib: each row stored as
    its difference from the row above (PNG's "Up" filter), which is what makes flat scenes small."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or not 0 < image.shape[0] * image.shape[1]:
        raise ValueError(f"a frame is an RGB image (height x width x 3, uint8), not {image.dtype} of shape {image.shape}")
    height, width, _ = image.shape
    rows = image.reshape(height, width * 3)
    up = np.empty((height, width * 3 + 1), dtype=np.uint8)
    up[:, 0] = 2
    up[0, 1:] = rows[0]
    up[1:, 1:] = rows[1:] - rows[:-1]  # modulo 256, as the filter wants

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(up.tobytes(), 6))
            + chunk(b"IEND", b""))


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    serve_policy()
