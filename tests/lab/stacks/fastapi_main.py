# The lab's FastAPI app (tests/lab/stacks/fastapi_main.py, run as main:app by uvicorn). The line
# "# @@CORS@@" is replaced by the scenario's CORS section. Provides app and AuthMiddleware.
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware

app = FastAPI()


class AuthMiddleware(BaseHTTPMiddleware):
    """Auth the lab can satisfy: any Authorization header, else 401."""

    async def dispatch(self, request: Request, call_next):
        if "authorization" not in request.headers:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)


@app.get("/s/{scn}/data")
@app.post("/s/{scn}/data")
@app.put("/s/{scn}/data")
@app.delete("/s/{scn}/data")
def data(scn: str, request: Request):
    return {"ok": True, "method": request.method}


@app.get("/s/{scn}/v2/report")
def report_v2(scn: str):
    return {"report": 2}


@app.get("/s/{scn}/fail")
def fail(scn: str):
    raise RuntimeError("lab: failing route")


# @@CORS@@
