-- One bulk job of a tenant, as of its latest job.progressed.
-- args: tenant=demo job_id=job_1
SELECT
    job_id,
    argMaxMerge(kind) AS kind,
    argMaxMerge(state) AS state,
    argMaxMerge(processed) AS processed,
    argMaxMerge(total) AS total,
    argMaxMerge(tag_id) AS tag_id,
    argMaxMerge(target) AS target,
    argMaxMerge(error) AS error,
    minMerge(first_ns) AS first_ns,
    maxMerge(last_ns) AS last_ns
FROM job_state
WHERE tenant = @tenant AND job_id = @job_id
GROUP BY job_id
