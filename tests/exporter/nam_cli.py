#!/usr/bin/python3
"""The .nam front end's command line (CTest exporter.nam_cli): `hinge_export nam MODEL.nam --out HEADER`.

  nam_cli.py WORK_DIR

1. A file hinge's NAM types cannot be, or a damaged one, is refused: exit status 1, a message
   "hinge_export: error: FILE: ..." naming the key and its value, and no header written. The
   files are NAM Core's example configs (written out here, so no data folder is needed) with one
   thing changed each.
2. The weight count is the config's: 131 for the example WaveNet's config, 70 for the example LSTM's
   (the counts of NAM Core's example files), one more or fewer is refused.
3. The header's weights read back as the file's float32 values, bit for bit (subnormals, -0 and
   float's extremes included), and it states the sample rate (std::nullopt when the file has none)
   and the metadata ("null" when it has none).

Each check states what it expects; the script exits 1 if any fails.
"""
import contextlib
import copy
import io
import json
import os
import random
import re
import struct
import sys

from hinge_export.cli import main

failures = 0

# The configs of NAM Core's example_models/wavenet.nam and lstm.nam.
WAVENET = {"version": "0.5.4", "architecture": "WaveNet",
           "config": {"layers": [{"input_size": 1, "condition_size": 1, "head_size": 2, "channels": 3,
                                  "kernel_size": 3, "dilations": [1, 2], "activation": "Tanh", "gated": False,
                                  "head_bias": False},
                                 {"input_size": 3, "condition_size": 1, "head_size": 1, "channels": 2,
                                  "kernel_size": 3, "dilations": [8], "activation": "Tanh", "gated": False,
                                  "head_bias": True}],
                      "head": None, "head_scale": 0.02},
           "sample_rate": 48000, "metadata": {"name": "Test Model"}}
LSTM = {"version": "0.5.4", "architecture": "LSTM", "config": {"input_size": 1, "hidden_size": 3, "num_layers": 1},
        "sample_rate": 48000, "metadata": {"name": "Test LSTM"}}


def check(ok, what):
    global failures
    failures += not ok
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    return ok


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def bits(x):
    return struct.pack("<f", x)


def with_weights(model, n, seed=1):
    rng = random.Random(seed)
    m = copy.deepcopy(model)
    m["weights"] = [f32(rng.gauss(0, 0.5)) for _ in range(n)]
    return m


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def write(work, name, model, raw=None):
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(raw if raw is not None else json.dumps(model))
    return path


def refused(work):
    print("1. refusals")
    wavenet, lstm = with_weights(WAVENET, 131), with_weights(LSTM, 70)

    def changed(model, edit):
        m = copy.deepcopy(model)
        edit(m)
        return m

    layer = lambda k: (lambda m: m["config"]["layers"][k])  # noqa: E731
    cases = [
        ("convnet", changed(wavenet, lambda m: m.update(architecture="ConvNet")),
         ['architecture "ConvNet" is not supported', "WaveNet, LSTM"]),
        ("linear", changed(wavenet, lambda m: m.update(architecture="Linear")), ['architecture "Linear"']),
        ("groups", changed(wavenet, lambda m: layer(0)(m).update(groups=2)),
         ['config.layers[0] has the key "groups" (value 2)', "do not support"]),
        ("post_stack", changed(wavenet, lambda m: m["config"].update(post_stack_head={"channels": 8})),
         ['config has the key "post_stack_head" (value {"channels":8})']),
        ("lstm_key", changed(lstm, lambda m: m["config"].update(bidirectional=True)),
         ['config has the key "bidirectional" (value true)']),
        ("head", changed(wavenet, lambda m: m["config"].update(head={})),
         ["config.head is {}", "post-head (null)"]),
        ("softsign", changed(wavenet, lambda m: layer(1)(m).update(activation="Softsign")),
         ['config.layers[1].activation is "Softsign"', "Tanh, ReLU, Sigmoid"]),
        ("leaky", changed(wavenet, lambda m: layer(0)(m).update(activation={"type": "LeakyReLU",
                                                                            "negative_slope": 0.01})),
         ['config.layers[0].activation is {"type":"LeakyReLU","negative_slope":0.01}']),
        ("condition", changed(wavenet, lambda m: layer(1)(m).update(condition_size=2)),
         ["config.layers[1].condition_size is 2", "condition_size 1"]),
        ("input_size", changed(wavenet, lambda m: layer(1)(m).update(input_size=4)),
         ["config.layers[1].input_size is 4", "must be 3, the channels of config.layers[0]"]),
        ("head_size", changed(wavenet, lambda m: layer(0)(m).update(head_size=3)),
         ["config.layers[0].head_size is 3", "must be 2, the channels of config.layers[1]"]),
        ("first_input", changed(wavenet, lambda m: layer(0)(m).update(input_size=2)),
         ["config.layers[0].input_size is 2", "must be 1"]),
        ("lstm_input", changed(lstm, lambda m: m["config"].update(input_size=2)),
         ["config.input_size is 2", "input_size 1"]),
        ("gated", changed(wavenet, lambda m: layer(0)(m).update(gated="yes")),
         ['config.layers[0].gated must be true or false, found "yes"']),
        ("channels", changed(wavenet, lambda m: layer(0)(m).update(channels=0)),
         ["config.layers[0].channels must be a positive integer, found 0"]),
        ("dilations", changed(wavenet, lambda m: layer(0)(m).update(dilations=[1, 2.5])),
         ["config.layers[0].dilations must hold positive integers, found [1,2.5]"]),
        ("short", changed(wavenet, lambda m: m["weights"].pop()),
         ["the weight count is 130, the config needs 131"]),
        ("long", changed(wavenet, lambda m: m["weights"].append(0.5)),
         ["the weight count is 132, the config needs 131"]),
        ("lstm_short", changed(lstm, lambda m: m["weights"].pop()), ["the weight count is 69, the config needs 70"]),
        ("gated_count", changed(wavenet, lambda m: layer(0)(m).update(gated=True)),
         ["the weight count is 131, the config needs 197"]),
        ("string_weight", changed(wavenet, lambda m: m["weights"].__setitem__(7, "0.5")),
         ['weights[7] is not a number: "0.5"']),
        ("huge_weight", changed(wavenet, lambda m: m["weights"].__setitem__(9, 1e39)),
         ["weights[9] is 1e+39, beyond float's range"]),
        ("no_weights", changed(wavenet, lambda m: m.pop("weights")), ['the file has no key "weights"']),
        ("sample_rate", changed(wavenet, lambda m: m.update(sample_rate="48k")),
         ['sample_rate must be a finite number, found "48k"']),
    ]
    text = json.dumps(wavenet)
    raw = [("nan", text.replace(repr(wavenet["weights"][3]), "NaN", 1), ["weights[3] is NaN, not a finite number"]),
           ("infinity", text.replace(repr(wavenet["weights"][4]), "-Infinity", 1),
            ["weights[4] is -Infinity, not a finite number"]),
           ("overflow", text.replace(repr(wavenet["weights"][5]), "1e999", 1),
            ["weights[5] is 1e999, beyond float's range"]),
           ("metadata_nan", text.replace('"Test Model"', "NaN"), ["metadata holds NaN"]),
           ("not_json", text[:-10], ["not a .nam file (invalid JSON)"])]
    for name, model, expected in cases + [(n, None, e) for n, _, e in raw]:
        source = next((t for n, t, _ in raw if n == name), None)
        path = write(work, f"{name}.nam", model, source)
        out = os.path.join(work, f"{name}.hpp")
        rc, _, err = run("nam", path, "--out", out)
        missing = [e for e in expected if e not in err]
        if not check(rc == 1 and not missing and err.startswith(f"hinge_export: error: {path}: ")
                     and not os.path.exists(out), f"{name}.nam: {err.strip()[len('hinge_export: error: ') + len(path) + 2:]}"):
            print(f"       rc {rc}, missing {missing} in: {err}")
    rc, _, err = run("nam", os.path.join(work, "absent.nam"), "--out", os.path.join(work, "absent.hpp"))
    check(rc == 1 and "absent.nam: cannot read it" in err, f"a missing file: {err.strip()}")
    for namespace in ("1amp", "hinge", "amp::", "a-b"):
        rc, _, err = run("nam", write(work, "ok.nam", wavenet), "--out", os.path.join(work, "ns.hpp"),
                         "--namespace", namespace)
        check(rc == 1 and f"'{namespace.split('::')[-1] if namespace != 'amp::' else ''}'" in err
              and not os.path.exists(os.path.join(work, "ns.hpp")), f"--namespace {namespace}: {err.strip()}")


def header_weights(text):
    body = re.search(r"inline constexpr float weights\[\] = \{(.*?)\};", text, re.S).group(1)
    return [t.strip() for t in body.split(",") if t.strip()]


def exact(work):
    print("2., 3. weight counts, and the header's values")
    wavenet = with_weights(WAVENET, 131, seed=2)
    # Values whose decimal text must be exact to come back: subnormals, -0, float's largest and smallest normal.
    special = [struct.unpack("<f", struct.pack("<I", b))[0] for b in (0x00000001, 0x8004d2c3, 0x7f7fffff, 0x00800000,
                                                                      0xff7fffff, 0x3eaaaaab)]
    wavenet["weights"][10:10 + len(special) + 1] = special + [-0.0]
    path = write(work, "wavenet.nam", wavenet)
    rc, out, err = run("nam", path, "--out", os.path.join(work, "wavenet.hpp"), "--namespace", "amp::models")
    check(rc == 0 and "131 weights" in out, f"the example WaveNet's config with 131 weights is exported: {out.strip()[:90]}")
    with open(os.path.join(work, "wavenet.hpp"), encoding="utf-8") as f:
        text = f.read()
    literals = header_weights(text)
    back = [bits(float(t[:-1])) for t in literals if t.endswith("f")]
    check(len(back) == 131 and back == [bits(w) for w in wavenet["weights"]],
          f"the header's {len(literals)} float literals read back as the file's float32 values, bit for bit "
          f"({', '.join(literals[10:10 + len(special) + 1])})")
    check("namespace amp::models {" in text and "using model = hinge::nam::a1_wavenet<" in text
          and "hinge::nam::layer_array<3, 3, hinge::nam::dilations<1, 2>, 2, false, hinge::tanh, false>" in text
          and "inline constexpr std::optional<double> sample_rate = 48000.0;" in text
          and 'metadata_json = R"nam({"name":"Test Model"})nam";' in text,
          "the header has the namespace, the type, the sample rate and the metadata")

    lstm = with_weights(LSTM, 70, seed=3)
    del lstm["sample_rate"], lstm["metadata"]
    path = write(work, "lstm.nam", lstm)
    rc, out, err = run("nam", path, "--out", os.path.join(work, "lstm.hpp"), "--fast-tanh")
    with open(os.path.join(work, "lstm.hpp"), encoding="utf-8") as f:
        text = f.read()
    check(rc == 0 and "70 weights" in out and "namespace lstm {" in text
          and "using model = hinge::nam::lstm_model<3, 1>::fast;" in text
          and "sample_rate = std::nullopt;" in text and 'metadata_json = R"nam(null)nam";' in text,
          "the example LSTM's config with 70 weights, no sample rate, no metadata, --fast-tanh, the default namespace")
    rc, out, err = run("nam", path, "-o", os.path.join(work, "lstm2.hpp"), "-q")
    check(rc == 0 and out == "" and os.path.exists(os.path.join(work, "lstm2.hpp")), "-o and -q")


def main_test():
    if len(sys.argv) != 2:
        sys.exit("usage: nam_cli.py WORK_DIR")
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    for f in os.listdir(work):
        os.remove(os.path.join(work, f))
    refused(work)
    exact(work)
    print(f"nam_cli.py: {'all ok' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main_test())
