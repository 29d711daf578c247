// llama.mjs — llama.cpp as a judge, through node-llama-cpp's prebuilt binaries (build: "never": nothing is
// built or downloaded). Loads a GGUF file, tokenizes a prompt with the file's own tokenizer, then decodes
// greedily, printing one JSON object: {"prompt": [ids], "steps": [{"token": ID, "top": [[ID, LOGP], ...]}]}
// with the log-probabilities of the 5 likeliest next tokens at each step (temperature 1, no top-k/top-p,
// so they are the model's own softmax).
//     node llama.mjs DEPS_DIR MODEL.gguf PROMPT STEPS
import path from "node:path";

const [deps, modelPath, prompt, steps] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(path.resolve(deps, "node_modules/node-llama-cpp/dist/index.js"));
const llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error, usePrebuiltBinaries: true });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 64, batchSize: 64 });
const seq = context.getSequence();
const ids = [...model.tokenize(prompt)];
const out = { prompt: ids, steps: [] };
let next = ids;
for (let s = 0; s < Number(steps); s++) {
    const it = seq.evaluateWithMetadata(next, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0 });
    const r = (await it.next()).value;
    await it.return();
    const top = [...r.probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    out.steps.push({ token: top[0][0], top: top.map(([t, p]) => [t, Math.log(p)]) });
    next = [top[0][0]];
}
console.log(JSON.stringify(out));
await context.dispose();
await model.dispose();
await llama.dispose();
