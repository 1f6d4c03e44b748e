-- pgjdbc DatabaseMetaData.getTables
SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,
  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'
    WHEN true THEN CASE WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema'
      THEN CASE c.relkind WHEN 'r' THEN 'SYSTEM TABLE' WHEN 'v' THEN 'SYSTEM VIEW'
        WHEN 'i' THEN 'SYSTEM INDEX' ELSE NULL END
      WHEN n.nspname = 'pg_toast' THEN CASE c.relkind WHEN 'r' THEN 'SYSTEM TOAST TABLE'
        WHEN 'i' THEN 'SYSTEM TOAST INDEX' ELSE NULL END
      ELSE CASE c.relkind WHEN 'r' THEN 'TEMPORARY TABLE' WHEN 'p' THEN 'TEMPORARY TABLE'
        WHEN 'i' THEN 'TEMPORARY INDEX' WHEN 'S' THEN 'TEMPORARY SEQUENCE'
        WHEN 'v' THEN 'TEMPORARY VIEW' ELSE NULL END END
    WHEN false THEN CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE'
      WHEN 'i' THEN 'INDEX' WHEN 'P' then 'PARTITIONED INDEX' WHEN 'S' THEN 'SEQUENCE'
      WHEN 'v' THEN 'VIEW' WHEN 'c' THEN 'TYPE' WHEN 'f' THEN 'FOREIGN TABLE'
      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END
    ELSE NULL END AS TABLE_TYPE, d.description AS REMARKS,
  '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME,
  '' AS REF_GENERATION
FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c
  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0
    and d.classoid = 'pg_class'::regclass)
WHERE c.relnamespace = n.oid
  AND (false OR ( c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ) )
ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME;

-- pgjdbc DatabaseMetaData.getColumns
SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,
  a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,
  t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum,
  nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,
  pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype
FROM pg_catalog.pg_namespace n
  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)
  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)
  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)
  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)
  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')
  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')
WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname LIKE 'public' AND c.relname LIKE 't') c
WHERE true ORDER BY nspname,c.relname,attnum;

-- pgjdbc DatabaseMetaData.getPrimaryKeys
SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME,
  result.KEY_SEQ, result.PK_NAME
FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, ct.relname AS TABLE_NAME,
    a.attname AS COLUMN_NAME, (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ,
    ci.relname AS PK_NAME, information_schema._pg_expandarray(i.indkey) AS KEYS,
    a.attnum AS A_ATTNUM
  FROM pg_catalog.pg_class ct
    JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)
    JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)
    JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid)
    JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid)
  WHERE true AND n.nspname = 'public' AND ct.relname = 't' AND i.indisprimary) result
where result.A_ATTNUM = (result.KEYS).x
ORDER BY result.table_name, result.pk_name, result.key_seq;

-- Metabase foreign keys (information_schema)
SELECT tc.table_schema AS fk_table_schema, tc.table_name AS fk_table_name,
  kcu.column_name AS fk_column_name, ccu.table_schema AS pk_table_schema,
  ccu.table_name AS pk_table_name, ccu.column_name AS pk_column_name
FROM information_schema.table_constraints tc
  JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name
    AND tc.table_schema = kcu.table_schema
  JOIN information_schema.referential_constraints rc ON tc.constraint_name = rc.constraint_name
  JOIN information_schema.constraint_column_usage ccu ON rc.unique_constraint_name = ccu.constraint_name
WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema NOT IN ('pg_catalog', 'information_schema');

-- Metabase foreign keys (pg_constraint)
SELECT fk_ns.nspname AS "fk-table-schema", fk_table.relname AS "fk-table-name",
  fk_column.attname AS "fk-column-name", pk_ns.nspname AS "pk-table-schema",
  pk_table.relname AS "pk-table-name", pk_column.attname AS "pk-column-name"
FROM pg_constraint c
  JOIN pg_class fk_table ON c.conrelid = fk_table.oid
  JOIN pg_namespace fk_ns ON c.connamespace = fk_ns.oid
  JOIN pg_attribute fk_column ON c.conrelid = fk_column.attrelid AND fk_column.attnum = ANY(c.conkey)
  JOIN pg_class pk_table ON c.confrelid = pk_table.oid
  JOIN pg_namespace pk_ns ON pk_table.relnamespace = pk_ns.oid
  JOIN pg_attribute pk_column ON c.confrelid = pk_column.attrelid AND pk_column.attnum = ANY(c.confkey)
WHERE c.contype = 'f' AND fk_ns.nspname !~ '^information_schema|catalog_history|pg_';

-- Metabase schemas
SELECT schema_name FROM information_schema.schemata
WHERE has_schema_privilege(schema_name, 'USAGE')
  AND schema_name NOT IN ('pg_catalog', 'information_schema') ORDER BY schema_name;

-- DBeaver table read
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,
  pg_catalog.pg_get_partkeydef(c.oid) as partition_key
FROM pg_catalog.pg_class c
  LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0
    AND d.classoid='pg_class'::regclass
WHERE c.relkind not in ('i','I','c') AND c.oid = 16384;

-- psqlODBC SQLColumns
select n.nspname, c.relname, a.attname, a.atttypid, t.typname, a.attnum, a.attlen, a.atttypmod,
  a.attnotnull, c.relhasrules, c.relkind, c.oid, pg_get_expr(d.adbin, d.adrelid),
  case t.typtype when 'd' then t.typbasetype else 0 end, t.typtypmod, attidentity
from (((pg_catalog.pg_class c inner join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  and c.relname like 't' and n.nspname like 'public')
  inner join pg_catalog.pg_attribute a on (not a.attisdropped) and a.attnum > 0 and a.attrelid = c.oid)
  inner join pg_catalog.pg_type t on t.oid = a.atttypid)
  left outer join pg_attrdef d on a.atthasdef and d.adrelid = a.attrelid and d.adnum = a.attnum
order by n.nspname, c.relname, attnum;

-- pgx LoadType (type kind)
select typtype::text, typbasetype from pg_type where oid=$1;

-- pgx LoadType (array element)
select typelem, typdelim::text from pg_type where oid=$1;

-- pgx LoadType (range)
select rngsubtype from pg_range where rngtypid=$1;

-- pgx LoadType (composite)
select typrelid from pg_type where oid=$1;

-- pgx LoadType (enum)
select enumlabel from pg_enum where enumtypid=$1 order by enumsortorder;
