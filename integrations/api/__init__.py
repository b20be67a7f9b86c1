"""The REST API that CRMs and marketing-automation tools call: one module per resource, the shared kit
(errors, idempotency, the body limit) in common.py, the routes in urls.py and the integration guide."""
