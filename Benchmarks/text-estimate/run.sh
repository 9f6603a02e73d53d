#!/usr/bin/env bash
# How far `admission.bytes_per_token` (UTF-8 bytes per token) is from real tokenizers on real
# text. GLM's own tokenizer cannot be downloaded here, so two stand-ins bracket it:
#   - a 65k-entry byte-level BPE: the tokenizer.json bundled in the `anthropic` 0.7.0 wheel on
#     PyPI (a modern large-vocabulary tokenizer, closer to GLM's 151k entries);
#   - the test model's 4 096-entry BPE from Benchmarks' real-vLLM setup, if installed.
# Texts: vim's tutor in English, Chinese and Japanese (real prose, from Debian's vim-runtime),
# and this repository's README (technical English with code).
# Prints bytes/token per text and tokenizer, and the estimate's error at the configured ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=Benchmarks/out/text-estimate-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
VENV=${TEXT_ESTIMATE_VENV:-$HOME/.cache/switchyard-text-estimate/venv}
RATIO=${BYTES_PER_TOKEN:-4.0}

TUTOR=$(ls -d /usr/share/vim/vim*/tutor 2>/dev/null | head -1 || true)
if [ -z "$TUTOR" ]; then
  apt-get install -y -q vim-runtime >/dev/null
  TUTOR=$(ls -d /usr/share/vim/vim*/tutor | head -1)
fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q tokenizers
fi
"$VENV/bin/pip" download -q anthropic==0.7.0 --no-deps -d "$OUT/wheel"
(cd "$OUT" && python3 -c "import zipfile,glob; zipfile.ZipFile(glob.glob('wheel/*.whl')[0]).extract('anthropic/tokenizer.json', '.')")

TINY=""
for candidate in "$HOME/.cache/real-vllm/tiny-llama/tokenizer.json"; do
  [ -f "$candidate" ] && TINY=$candidate
done

"$VENV/bin/python" - "$OUT/anthropic/tokenizer.json" "$TINY" "$RATIO" \
  "$TUTOR/tutor" "$TUTOR/tutor.zh_cn.utf-8" "$TUTOR/tutor.ja.utf-8" README.md <<'PY' | tee "$OUT/summary.md"
import sys
from tokenizers import Tokenizer
big, tiny, ratio = sys.argv[1], sys.argv[2], float(sys.argv[3])
texts = sys.argv[4:]
tokenizers = [("65k BPE (anthropic 0.7.0)", Tokenizer.from_file(big))]
if tiny:
    tokenizers.append(("4k BPE (test model)", Tokenizer.from_file(tiny)))
print(f"| text | UTF-8 bytes | tokenizer | tokens | bytes/token | estimate at {ratio} ÷ real |")
print("|---|---|---|---|---|---|")
for path in texts:
    text = open(path, encoding="utf-8").read()
    size = len(text.encode("utf-8"))
    for name, tokenizer in tokenizers:
        count = len(tokenizer.encode(text, add_special_tokens=False).ids)
        print(f"| {path.split('/')[-1]} | {size} | {name} | {count} | {size / count:.2f} | {size / ratio / count:.2f} |")
PY
echo "written to $OUT/summary.md"
