#!/usr/bin/env bash
# The GPU checks in one go, for a short lease on a GPU machine (docs/speed.md, "On a GPU"):
# training speed against the official code; i2i trains, resumes, translates and evaluates on
# CUDA; the speed of compile and of other settings.
#   bash benchmarks/gpu.sh OUT_DIR STARGAN_CHECKOUT STARGAN_V2_CHECKOUT
#   PARTS="paired cuda" bash benchmarks/gpu.sh ...   # some parts only (default: all four)
# Each part has its own time limit, so one slow part cannot starve the rest; every result is a
# JSON file in OUT_DIR, and OUT_DIR/log holds every part's output and exit status. On one H200
# (2026-12-04) "paired" needed over 2 minutes, "cuda" 1, and compiling StarGAN v2 alone over 3.5.
set -u
out=${1:?OUT_DIR}; stargan=${2:?yunjey/stargan checkout}; stargan_v2=${3:?clovaai/stargan-v2 checkout}
parts=" ${PARTS:-paired cuda compile settings} "
cd "$(dirname "$0")/.."
mkdir -p "$out"
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
part() {  # part SECONDS NAME COMMAND...: run, time and label one part
    local limit=$1 name=$2; shift 2
    local start=$SECONDS
    echo "== $name: $*" >> "$out/log"
    timeout "$limit" "$@" 2>&1 | tee -a "$out/log" | tail -n 12
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s" | tee -a "$out/log"
}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
$py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"

official="--official stargan=$stargan stargan_v2=$stargan_v2"
speed="$py benchmarks/speed.py --device cuda --batch stargan_v2-256=8 --repeats 10 --warmup 3"
if [[ $parts == *" paired "* ]]; then
    part 240 paired $speed --configs stargan-128 stargan_v2-256 --settings --pair default $official \
        --out "$out/paired.json"
fi
if [[ $parts == *" cuda "* ]]; then
    run=$(mktemp -d)/stargan
    tiny="data.image_size=64 n_train=64 n_test=8 batch_size=8 sample_every=10 logger=none device=cuda"
    part 90 train $py -m i2i train stargan --data shapes --out "$run" --no-progress steps=20 save_every=10 $tiny
    part 45 resume $py -m i2i train stargan --out "$run" --resume --no-progress steps=30
    $py -c "from PIL import Image; Image.new('RGB', (50, 37), (200, 30, 30)).save('$run/red.png')"
    part 30 translate $py -m i2i translate "$run" --input "$run/red.png" --target green --output "$out/green.png" \
        --device cuda
    part 30 eval $py -m i2i eval "$run" -n 16 --device cuda
fi
if [[ $parts == *" compile "* ]]; then
    part 480 compile $speed --configs stargan-128 stargan_v2-256 --settings --pair default-compile $official \
        --out "$out/compile.json"
fi
if [[ $parts == *" settings "* ]]; then
    part 300 settings $speed --configs stargan-128 stargan_v2-256 stargan_v2-64 cyclegan-256 \
        --settings fp32 default-cl --out "$out/settings.json"
fi
