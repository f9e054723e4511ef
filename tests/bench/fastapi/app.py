"""The seed's API in the Python stack of ../shared/seed/article.txt: FastAPI, python-jose,
passlib with argon2, Redis for the blacklist and asyncpg, written the way the FastAPI docs
teach (Pydantic models, dependencies, HTTPException), with the seed's Argon2 parameters,
status codes and bodies so the benchmark compares equal behaviour.

    DATABASE_URL=postgresql://… REDIS_URL=redis://… JWT_SECRET=… \
        uvicorn app:app --workers 2 --port 3003
"""

import os
import time
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Annotated

import asyncpg
import redis.asyncio as redis
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from jose import ExpiredSignatureError, JWTError, jwt
from passlib.context import CryptContext
from pydantic import BaseModel

SECRET_KEY = os.environ["JWT_SECRET"]
ALGORITHM = "HS256"
# The seed's parameters (OWASP's Argon2id minimum, the argon2 crate's default).
pwd_context = CryptContext(
    schemes=["argon2"], deprecated="auto",
    argon2__type="ID", argon2__memory_cost=19456, argon2__time_cost=2, argon2__parallelism=1,
)
redis_client = redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
db: asyncpg.Pool


@asynccontextmanager
async def lifespan(_app: FastAPI):
    global db
    # 8 connections per worker: 16 for the two workers, as the Rust servers' pools.
    db = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=8)
    yield
    await db.close()
    await redis_client.aclose()


app = FastAPI(lifespan=lifespan)


class User(BaseModel):
    id: int
    email: str
    name: str
    role: str
    password_hash: str


class Credentials(BaseModel):
    email: str
    password: str


class ArticleIn(BaseModel):
    title: str
    body: str


class Article(BaseModel):
    id: int
    title: str
    body: str
    user_id: int


@app.exception_handler(HTTPException)
async def error_body(_request: Request, exc: HTTPException):
    # The seed answers {"error": ...}; FastAPI's default would be {"detail": ...}.
    content = exc.detail if isinstance(exc.detail, dict) else {"error": exc.detail}
    return JSONResponse(status_code=exc.status_code, content=content)


USER_COLUMNS = "id, email, name, role, password_hash"


async def fetch_user_by_email(email: str) -> User | None:
    row = await db.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE email = $1 LIMIT 1", email)
    return User(**dict(row)) if row else None


def verify_password(plain: str, hashed: str) -> bool:
    return pwd_context.verify(plain, hashed)


def create_access_token(data: dict, expires_delta: timedelta = timedelta(hours=24)) -> str:
    to_encode = data.copy()
    to_encode.update({"jti": str(uuid.uuid4()), "exp": datetime.now(tz=timezone.utc) + expires_delta})
    return jwt.encode(to_encode, SECRET_KEY, algorithm=ALGORITHM)


async def is_blacklisted(jti: str) -> bool:
    return await redis_client.exists(f"blacklist:{jti}") > 0


async def blacklist_token(jti: str, exp: int) -> None:
    ttl = exp - int(time.time())
    if ttl > 0:
        await redis_client.set(f"blacklist:{jti}", "1", ex=ttl)


def unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message)


async def get_token_payload(authorization: Annotated[str | None, Header()] = None) -> dict:
    if authorization is None:
        raise unauthorized("missing Authorization header")
    parts = authorization.split(" ")
    if len(parts) != 2 or parts[0] != "Bearer":
        raise unauthorized("expected 'Bearer <token>'")
    try:
        payload = jwt.decode(parts[1], SECRET_KEY, algorithms=[ALGORITHM],
                             options={"require_exp": True, "leeway": 30})
    except ExpiredSignatureError:
        raise unauthorized("token expired")
    except JWTError as e:
        raise unauthorized("invalid token signature" if "Signature verification failed" in str(e) else "invalid token")
    if "jti" not in payload:
        raise unauthorized("token missing jti")
    return payload


async def get_current_user(payload: Annotated[dict, Depends(get_token_payload)]) -> User:
    if await is_blacklisted(payload["jti"]):
        raise unauthorized("token revoked")
    user = await fetch_user_by_email(payload.get("sub", ""))
    if not user:
        raise unauthorized("not found")
    return user


def require_role(*roles: str):
    async def checker(user: Annotated[User, Depends(get_current_user)]) -> User:
        if user.role not in roles:
            raise HTTPException(status_code=403, detail={"error": "forbidden", "current_role": user.role, "required_roles": list(roles)})
        return user
    return checker


@app.post("/login")
async def login(creds: Credentials):
    user = await fetch_user_by_email(creds.email)
    if not user or not verify_password(creds.password, user.password_hash):
        raise unauthorized("invalid credentials")
    return {"token": create_access_token({"sub": user.email, "role": user.role})}


@app.get("/me")
async def me(user: Annotated[User, Depends(get_current_user)]) -> User:
    return user


@app.get("/admin/users")
async def admin_list(_user: Annotated[User, Depends(require_role("admin"))]) -> list[User]:
    rows = await db.fetch(f"SELECT {USER_COLUMNS} FROM users")
    return [User(**dict(r)) for r in rows]


@app.post("/articles")
async def create_article(body: ArticleIn, user: Annotated[User, Depends(require_role("editor", "publisher"))]) -> Article:
    row = await db.fetchrow(
        "INSERT INTO articles (title, body, user_id) VALUES ($1, $2, $3) RETURNING id, title, body, user_id",
        body.title, body.body, user.id)
    return Article(**dict(row))


@app.post("/auth/logout")
async def logout(payload: Annotated[dict, Depends(get_token_payload)],
                 _user: Annotated[User, Depends(get_current_user)]):
    await blacklist_token(payload["jti"], int(payload["exp"]))
    return {"ok": True}
