#!/bin/sh
# The example MLP with float32 and with bf16 weights (refocus predict --weights bf16) on the 10000 Fashion-MNIST test
# images, at the main job's tuned setting (cross-entropy, d = 0.16, eta = 0.00256, T = 1, clip 1, all parameters):
# plain and refocus accuracy of each, and how many samples' decisions differ. README, "bf16 weights", has the table.
# From the repository root, after `mvn -q -DskipTests package`:
#   sh examples/fashion-mnist/bf16-compare.sh [/usr/share/datasets/fashion-mnist]
set -eu
data=${1:-/usr/share/datasets/fashion-mnist}
out=target/bf16-compare
mkdir -p "$out"
for weights in f32 bf16; do
    java -jar cli/target/refocus-cli.jar predict -m examples/fashion-mnist/mlp-784-512-256-10.safetensors \
        -i "$data/t10k-images-idx3-ubyte.gz" --method cross_entropy -d 0.16 --eta 0.00256 --steps 1 --clip 1 \
        --adapt all --weights "$weights" -o "$out/$weights.csv"
done
# the labels: the IDX file's bytes after its 8-byte header, one per line
gzip -dc "$data/t10k-labels-idx1-ubyte.gz" | tail -c +9 | od -An -tu1 -v | tr -s ' ' '\n' | grep -v '^$' \
    > "$out/labels.txt"
# columns: index,initial_class,final_class,adapted,margin
tail -n +2 "$out/f32.csv" > "$out/f32.body"
tail -n +2 "$out/bf16.csv" > "$out/bf16.body"
paste -d, "$out/labels.txt" "$out/f32.body" "$out/bf16.body" | awk -F, '
    { n++
      plain32 += $3 == $1; refocus32 += $4 == $1; adapted32 += $5 == "true"
      plain16 += $8 == $1; refocus16 += $9 == $1; adapted16 += $10 == "true"
      flag += $5 != $10; initial += $3 != $8; final += $4 != $9; any += $5 != $10 || $3 != $8 || $4 != $9 }
    END {
      printf "samples %d\n", n
      printf "f32:  plain %.2f %%, refocus %.2f %%, uncertain %d\n", 100 * plain32 / n, 100 * refocus32 / n, adapted32
      printf "bf16: plain %.2f %%, refocus %.2f %%, uncertain %d\n", 100 * plain16 / n, 100 * refocus16 / n, adapted16
      printf "differ: uncertain flag %d, initial class %d, final class %d, any of them %d\n", flag, initial, final, any
    }'
