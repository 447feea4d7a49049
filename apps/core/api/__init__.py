"""What every API view shares, one concern a module.

``auth``: the OpenAPI scheme of the session token and the signed-in learner of a request;
``errors``: the one error shape, the exception handler and its OpenAPI documentation;
``fields``: strict JSON fields and query parameters; ``schema``: OpenAPI post-processing;
``throttles``: rates read from settings on each request; ``conditional``: ETags and 304;
``pagination``: cursor paging.
"""
