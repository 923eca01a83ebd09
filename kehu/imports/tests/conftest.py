import pytest


@pytest.fixture
def make_job(tenant):
    """``make_job(content, role="admin", target="contacts", name="x.csv", **config)``: a configured job."""
    from kehu.imports import services

    def make(content, *, role="admin", target="contacts", name="x.csv", **config):
        data = content.encode("utf-8") if isinstance(content, str) else content
        actor = tenant.actors[role]
        with tenant.scope():
            job = services.upload(actor, name=name, chunks=iter([data]), target=target)
            if config:
                job = services.configure(actor, job, **config)
        return job

    return make


@pytest.fixture
def run_job(tenant):
    """Start and run a job synchronously as ``role``; returns the refreshed job."""
    from kehu.imports import services

    def run(job, role="admin"):
        actor = tenant.actors[role]
        with tenant.scope():
            services.start(actor, job, enqueue=False)
            return services.run(actor, job.pk)

    return run
