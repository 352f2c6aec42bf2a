// The anchor for `status <id> --json`: the same GET, same headers, as a one-shot node:http script.
// node bench/oneshot-status.mjs <base-url> <job_run_id>   (key from NEX_API_KEY)
import http from 'node:http';
const [base, id] = process.argv.slice(2);
const url = new URL(`v1/compounding/jobs/${id}`, base.endsWith('/') ? base : `${base}/`);
const headers = { authorization: `Bearer ${process.env.NEX_API_KEY}`, accept: 'application/json', 'user-agent': 'nex-compound/0.1.0' };
http.get(url, { headers }, (res) => {
  const chunks = [];
  res.on('data', (chunk) => chunks.push(chunk));
  res.on('end', () => {
    if (res.statusCode !== 200) process.exitCode = 1;
    process.stdout.write(`${JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')), null, 2)}\n`);
  });
}).on('error', (error) => { console.error(error.message); process.exitCode = 1; });
